"""Kline intervals, time zones and rolling windows, as Binance names and aligns them.

Every interval is a union of whole 1s or 1m periods: fixed-size intervals are aligned on the
Unix epoch in local time (`timeZone` shifts the boundaries, not the timestamps), `1w` starts on
Monday 00:00, `1M` on the first day of the calendar month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simulator import errors

SECOND_MS = 1_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
_MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; 1970-01-05 a Monday

_FIXED_MS: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
}
INTERVALS: tuple[str, ...] = (*_FIXED_MS, "1M")
_TIME_ZONE = re.compile(r"^([+-]?)([0-9]{1,2})(?::([0-9]{2}))?$")
_WINDOW = re.compile(r"^([1-9][0-9]?)([mhd])$")
_WINDOW_UNIT_MS = {"m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS}
_WINDOW_MAX = {"m": 59, "h": 23, "d": 7}


@dataclass(frozen=True, slots=True)
class Interval:
    """One kline interval in one time zone (`offset_ms` east of UTC)."""

    name: str
    offset_ms: int = 0

    @classmethod
    def parse(cls, name: str, offset_ms: int = 0) -> Interval:
        if name not in INTERVALS:
            raise errors.invalid_interval()
        return cls(name, offset_ms)

    @property
    def push_ms(self) -> int:
        """How often the kline stream pushes the open kline (web-socket-streams.md)."""
        return 1_000 if self.name == "1s" else 2_000

    def open_of(self, ts: int) -> int:
        """The open time of the kline that holds the instant `ts` (ms, UTC)."""
        local = ts + self.offset_ms
        if self.name == "1M":
            day = datetime.fromtimestamp(local / 1000, tz=UTC)
            first = datetime(day.year, day.month, 1, tzinfo=UTC)
            return int(first.timestamp()) * 1000 - self.offset_ms
        if self.name == "1w":
            return local - (local - _MONDAY_OFFSET_MS) % WEEK_MS - self.offset_ms
        size = _FIXED_MS[self.name]
        return local - local % size - self.offset_ms

    def next_open(self, open_ms: int) -> int:
        """The open time of the kline after the one that opens at `open_ms`."""
        if self.name != "1M":
            return open_ms + _FIXED_MS[self.name]
        local = datetime.fromtimestamp((open_ms + self.offset_ms) / 1000, tz=UTC)
        following = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
        return int(following.timestamp()) * 1000 - self.offset_ms


def parse_time_zone(text: str | None) -> int:
    """`timeZone` ("0", "8", "-1:00", "05:45", "+08:00") -> offset in ms; -1100 when bad."""
    if text is None:
        return 0
    match = _TIME_ZONE.match(text)
    if match is None:
        raise errors.illegal("timeZone")
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes >= 60:
        raise errors.illegal("timeZone")
    offset = hours * HOUR_MS + minutes * MINUTE_MS
    offset = -offset if sign == "-" else offset
    if not -12 * HOUR_MS <= offset <= 14 * HOUR_MS:
        raise errors.invalid("timeZone")
    return offset


def parse_window(text: str | None) -> int:
    """`windowSize` of GET /api/v3/ticker (1m..59m, 1h..23h, 1d..7d; default 1d) -> ms."""
    if text is None:
        return DAY_MS
    match = _WINDOW.match(text)
    if match is None or int(match.group(1)) > _WINDOW_MAX[match.group(2)]:
        raise errors.invalid("windowSize")
    return int(match.group(1)) * _WINDOW_UNIT_MS[match.group(2)]
