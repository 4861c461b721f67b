"""Microsecond timestamps: the `X-MBX-TIME-UNIT` header and µs request parameters.

With `X-MBX-TIME-UNIT: MICROSECOND` (or `microsecond`) every time field of the JSON answer is
in microseconds; `MILLISECOND` (or none) keeps milliseconds; anything else is -1194.
Timestamp parameters may be sent in milliseconds or microseconds (16 digits and more).
"""

from __future__ import annotations

from collections.abc import Mapping

from simulator import errors

# Keys whose integer values are times, in Binance's REST and WebSocket API answers.
TIME_KEYS = frozenset(
    {
        "serverTime",
        "transactTime",
        "transactionTime",
        "time",
        "updateTime",
        "workingTime",
        "closeTime",
        "openTime",
        "T",
        "E",
        "u",
        "O",
        "W",
        "startTime",
        "endTime",
    }
)
MICROS_FROM = 10**14  # a timestamp at or above this is in microseconds


def wants_micros(headers: Mapping[str, str]) -> bool:
    """REST: the X-MBX-TIME-UNIT header."""
    return is_micros(headers.get("X-MBX-TIME-UNIT"))


def is_micros(unit: str | None) -> bool:
    """True for MICROSECOND, False for MILLISECOND or nothing; -1194 for anything else."""
    if unit is None or unit in ("MILLISECOND", "millisecond"):
        return False
    if unit in ("MICROSECOND", "microsecond"):
        return True
    raise errors.ApiError(
        400, -1194, "Invalid value for time unit; expected either MICROSECOND or MILLISECOND."
    )


def to_millis(value: int) -> int:
    """A request timestamp in ms, whether it was sent in ms or µs."""
    return value // 1000 if value >= MICROS_FROM else value


def to_micros(body: object) -> object:
    """The answer with every time field (and kline open/close times) in microseconds."""
    if isinstance(body, dict):
        return {
            k: v * 1000
            if k in TIME_KEYS and isinstance(v, int) and not isinstance(v, bool) and v > 0
            else to_micros(v)
            for k, v in body.items()
        }
    if isinstance(body, list):
        if len(body) == 12 and isinstance(body[0], int) and isinstance(body[6], int):
            # A kline row: its close time is the interval's last microsecond (…59999999).
            return [v * 1000 if i == 0 else v * 1000 + 999 if i == 6 else v
                    for i, v in enumerate(body)]  # fmt: skip
        return [to_micros(v) for v in body]
    return body
