"""The service's higher-timeframe candles (3m … 1d), kept per (symbol, interval).

One `Rollup` (aggregation.timeframes) per (symbol, interval) in use, fed by the symbol's closed
1-minute candles as they close, and the closed candles it produced (the newest kept). GET
/candles/{symbol}?interval= reads them and /ws publishes them as they close: one set of
candle objects for both.

KEPT ON DEMAND
    An interval is kept once something asked for it (`keep`: a /ws subscription, or a REST
    read). Until then no minute is folded into it, so a service (or a backtest) that nobody
    asks for 4h candles does no 4h work.
SEEDED FROM THE MINUTES KEPT
    A (symbol, interval) begins with the symbol's 1-minute history (`minutes(symbol)`, the
    aggregator's CANDLE_HISTORY minutes): its oldest candle is incomplete when that history
    starts inside it, as `roll_up` of the same minutes gives.
HISTORY
    At most `minutes_kept // minutes-per-candle + 1` closed candles per (symbol, interval): as
    many as the minutes kept cover.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

from aggregation.models import Candle
from aggregation.timeframes import INTERVALS, Rollup, interval_ms
from core.clock import MINUTE_MS

HIGHER = tuple(name for name, length in INTERVALS.items() if length > MINUTE_MS)
Minutes = Callable[[str], Sequence[Candle]]  # a symbol's closed 1-minute candles, oldest first


class _Series:
    """One (symbol, interval): its rollup and the closed candles it produced."""

    __slots__ = ("closed", "interval", "rollup")

    def __init__(self, symbol: str, interval: str, keep: int) -> None:
        self.interval = interval
        self.rollup = Rollup(symbol, interval_ms(interval))
        self.closed: deque[Candle] = deque(maxlen=keep)

    def add(self, minute: Candle) -> tuple[Candle, ...]:
        out = self.rollup.add(minute)
        if out:
            self.closed.extend(out)
        return out


class TimeframeBook:
    """Higher-interval candles of every symbol, for the intervals kept (see the module doc)."""

    def __init__(self, minutes: Minutes, minutes_kept: int) -> None:
        self._minutes = minutes
        self._minutes_kept = minutes_kept
        self._kept: list[str] = []  # in INTERVALS order
        self._series: dict[str, dict[str, _Series]] = {}  # symbol -> interval -> series

    @property
    def kept(self) -> tuple[str, ...]:
        return tuple(self._kept)

    def keep(self, intervals: Iterable[str]) -> None:
        """Build these intervals from now on (1m, already the aggregator's, is ignored).
        ValueError naming the known intervals for an unknown one (nothing kept then)."""
        wanted = {name for name in intervals if interval_ms(name) > MINUTE_MS}
        if wanted - set(self._kept):
            self._kept = [name for name in HIGHER if name in wanted or name in self._kept]

    def add(self, minute: Candle) -> list[Candle]:
        """Fold one closed minute into the kept intervals of its symbol; the candles it closed,
        shortest interval first. A series begun here is seeded with the minutes before it."""
        if not self._kept:
            return []
        out: list[Candle] = []
        for name in self._kept:
            closed = self._series_of(minute.symbol, name, before=minute.open_time).add(minute)
            if closed:
                out.extend(closed)
        return out

    def history(
        self,
        symbol: str,
        interval: str,
        limit: int | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> list[Candle]:
        """Closed candles of `interval` (kept from now on), oldest first; `start`/`end` bound
        the open time (inclusive, ms), `limit` keeps the newest."""
        self._keep_higher(interval)
        out = [
            c
            for c in self._series_of(symbol, interval).closed
            if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
        ]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def open_candle(self, symbol: str, interval: str, open_minute: Candle | None) -> Candle | None:
        """The candle of `interval` still being built: its closed minutes and `open_minute`
        (the aggregator's open one, if any). None when nothing of it is there yet."""
        self._keep_higher(interval)
        return self._series_of(symbol, interval).rollup.partial(open_minute)

    def drop(self, symbol: str) -> None:
        """Forget a symbol (unsubscribed); re-added, it is seeded again from its minutes."""
        self._series.pop(symbol, None)

    def _keep_higher(self, interval: str) -> None:
        if interval_ms(interval) <= MINUTE_MS:
            raise ValueError(f"{interval} candles are the aggregator's, not rolled up")
        self.keep((interval,))

    def _series_of(self, symbol: str, interval: str, before: int | None = None) -> _Series:
        by_interval = self._series.setdefault(symbol, {})
        series = by_interval.get(interval)
        if series is None:
            per_candle = interval_ms(interval) // MINUTE_MS
            series = _Series(symbol, interval, self._minutes_kept // per_candle + 1)
            for minute in self._minutes(symbol):
                if before is not None and minute.open_time >= before:
                    break
                series.add(minute)
            by_interval[interval] = series
        return series
