"""Higher timeframes rolled up from closed 1-minute candles: Binance's 3m … 1d klines.

The rules, as named choices (each one is tested, against Binance's own klines where the
recorded data allows):

ALIGNMENT
    An interval of length L holds the minutes with open time in [k·L, (k+1)·L), k =
    open_time // L, in UTC epoch milliseconds: how Binance aligns every kline interval up to
    1d (a 4h candle opens at 00:00, 04:00, … UTC; a 1d candle at 00:00 UTC).
FIELDS
    Open of the first minute, the highest high, the lowest low, the close of the last minute,
    and the sums of volume, quote volume, trade count, taker-buy base and taker-buy quote.
    Decimal-exact, like the minutes.
CLOSE
    An interval closes when its last minute closes (the minute ending where the interval ends);
    its close time is the interval's last millisecond.
EMPTY MINUTES
    Binance builds every interval from its trades. So a minute without trades (a flat candle
    at the previous close) sets nothing but the counts: an interval's open is its first
    trade's price even when its first minutes were quiet, and the previous close is never its
    high or low. An interval without any trade is flat at the previous close with volume 0,
    Binance's convention (the close of its flat minutes).
INCOMPLETE
    An interval is complete only when every one of its minutes was seen and each was complete.
    The first interval after a start in its middle, one with a missing minute, or one with an
    incomplete minute, is emitted with complete=False (strategies skip it). An interval whose
    last minute never comes is emitted, incomplete, when a minute of a later interval arrives.
SOURCE
    warmup when its last minute is a warm-up kline (it ended before the start: the past);
    backfill when any of its minutes was backfilled; stream otherwise.
LATE MINUTES
    A minute at or before the last one folded in is ignored (counted in `ignored`): a closed
    interval is never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from aggregation.models import Candle, CandleSource
from core.clock import MINUTE_MS
from core.variants import INTERVALS  # Binance's interval names, in ms (the settings use them)

__all__ = ["INTERVALS", "INTERVAL_NAMES", "Rollup", "interval_ms", "roll_up", "roll_up_with_open"]
INTERVAL_NAMES = {length: name for name, length in INTERVALS.items()}  # 300000 -> "5m"
_NONE: tuple[Candle, ...] = ()
_ZERO = Decimal(0)


def interval_ms(name: str) -> int:
    """The length of Binance interval `name` (e.g. "5m"); ValueError naming the known ones."""
    try:
        return INTERVALS[name]
    except KeyError:
        known = ", ".join(INTERVALS)
        raise ValueError(f"interval {name!r} is not one of {known}") from None


class Rollup:
    """One symbol's closed minutes in (oldest first), closed candles of one interval out."""

    __slots__ = (
        "backfill",
        "close",
        "complete",
        "high",
        "ignored",
        "interval_ms",
        "last_minute",
        "low",
        "minutes",
        "open",
        "quote",
        "start",
        "symbol",
        "taker_base",
        "taker_quote",
        "trades",
        "volume",
    )

    def __init__(self, symbol: str, interval_ms: int) -> None:
        if interval_ms < MINUTE_MS or interval_ms % MINUTE_MS:
            raise ValueError(f"interval must be a whole number of minutes, got {interval_ms} ms")
        self.symbol = symbol
        self.interval_ms = interval_ms
        self.start: int | None = None  # open time of the interval being built
        self.last_minute: int | None = None  # open time of the last minute folded in
        self.open = self.high = self.low = self.close = _ZERO
        self.volume = self.quote = self.taker_base = self.taker_quote = _ZERO
        self.trades = 0
        self.minutes = 0
        self.complete = True
        self.backfill = False
        self.ignored = 0

    def add(self, minute: Candle) -> tuple[Candle, ...]:
        """Fold in one closed minute; the intervals it closed (usually none or one)."""
        t = minute.open_time
        if self.last_minute is not None and t <= self.last_minute:
            self.ignored += 1
            return _NONE
        length = self.interval_ms
        start = t - t % length
        out: tuple[Candle, ...] = _NONE
        if self.start is not None and start != self.start:
            out = (self._emit(CandleSource.STREAM),)  # INCOMPLETE: its last minute never came
        if self.start is None:
            self._begin(minute, start)
        else:
            if t != self.last_minute + MINUTE_MS:  # type: ignore[operator]
                self.complete = False  # a minute is missing
            if minute.trades:
                self._fold_trades(minute)
            self.minutes += 1
            if not minute.complete:
                self.complete = False
            if minute.source is CandleSource.BACKFILL:
                self.backfill = True
        self.last_minute = t
        if t + MINUTE_MS == start + length:  # CLOSE: its last minute
            return (*out, self._emit(minute.source))
        return out

    def _begin(self, minute: Candle, start: int) -> None:
        self.start = start
        # A flat first minute gives the previous close: the interval's OHLC if no trade comes.
        self.open, self.high, self.low, self.close = (
            minute.open, minute.high, minute.low, minute.close
        )  # fmt: skip
        self.volume, self.quote, self.trades = minute.volume, minute.quote_volume, minute.trades
        self.taker_base, self.taker_quote = minute.taker_buy_base, minute.taker_buy_quote
        self.minutes = 1
        self.complete = minute.complete and minute.open_time == start
        self.backfill = minute.source is CandleSource.BACKFILL

    def _fold_trades(self, minute: Candle) -> None:
        """EMPTY MINUTES: only minutes with trades set the OHLC (Binance builds every interval
        from its trades, so a flat minute's previous close is never an interval's high, low or
        open when the interval has trades)."""
        if not self.trades:  # the first trades of the interval
            self.open, self.high, self.low = minute.open, minute.high, minute.low
        else:
            if minute.high > self.high:
                self.high = minute.high
            if minute.low < self.low:
                self.low = minute.low
        self.close = minute.close
        self.volume += minute.volume
        self.quote += minute.quote_volume
        self.trades += minute.trades
        self.taker_base += minute.taker_buy_base
        self.taker_quote += minute.taker_buy_quote

    def _emit(self, last_source: CandleSource) -> Candle:
        candle = self._candle(self.interval_ms // MINUTE_MS, last_source)
        self.start = None
        return candle

    def _candle(self, needed: int, last_source: CandleSource) -> Candle:
        assert self.start is not None
        if last_source is CandleSource.WARMUP:
            source = CandleSource.WARMUP
        elif self.backfill:
            source = CandleSource.BACKFILL
        else:
            source = CandleSource.STREAM
        return Candle(
            self.symbol, self.start, self.open, self.high, self.low, self.close, self.volume,
            self.quote, self.trades, self.taker_base, self.taker_quote,
            self.complete and self.minutes == needed, source, self.interval_ms,
        )  # fmt: skip

    def partial(self, open_minute: Candle | None = None) -> Candle | None:
        """The interval still being built, with the minute still open (if any) folded in.

        Never changes the rollup. `complete` says whether every minute so far is there; the
        interval itself is not closed yet (publish it as the open candle)."""
        if open_minute is None:
            if self.start is None:
                return None
            return self._candle(self.minutes, CandleSource.STREAM)
        start = open_minute.open_time - open_minute.open_time % self.interval_ms
        probe = self.copy()
        closed = probe.add(open_minute)
        if closed and closed[-1].open_time == start:
            return closed[-1]  # the open minute is the interval's last
        if probe.start == start:
            return probe._candle(probe.minutes, CandleSource.STREAM)
        return None

    def copy(self) -> Rollup:
        twin = Rollup(self.symbol, self.interval_ms)
        for name in self.__slots__:
            setattr(twin, name, getattr(self, name))
        return twin


def roll_up(minutes: Iterable[Candle], interval: int | str) -> list[Candle]:
    """Every interval that closed over `minutes` (closed 1m candles of one symbol, oldest
    first). The first one is incomplete when `minutes` start in its middle."""
    length = interval_ms(interval) if isinstance(interval, str) else interval
    out: list[Candle] = []
    rollup: Rollup | None = None
    for minute in minutes:
        if rollup is None:
            rollup = Rollup(minute.symbol, length)
        out.extend(rollup.add(minute))
    return out


def roll_up_with_open(
    minutes: Sequence[Candle], interval: int | str, open_minute: Candle | None = None
) -> tuple[list[Candle], Candle | None]:
    """`roll_up` plus the interval still open (its closed minutes and `open_minute`)."""
    length = interval_ms(interval) if isinstance(interval, str) else interval
    if not minutes and open_minute is None:
        return [], None
    symbol = minutes[0].symbol if minutes else open_minute.symbol  # type: ignore[union-attr]
    rollup = Rollup(symbol, length)
    out: list[Candle] = []
    for minute in minutes:
        out.extend(rollup.add(minute))
    return out, rollup.partial(open_minute)
