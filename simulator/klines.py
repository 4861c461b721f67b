"""Klines of every interval, aggregated from the trades the simulator released.

1s klines come from the kept trades; every other interval from the 1m candles (which hold every
trade). A kline takes open/high/low/close from its trades only; a kline without trades is flat
at the previous close (Binance's convention), so an interval's kline equals the aggregation of
its trades whatever its 1m parts were.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from simulator.intervals import MINUTE_MS, Interval
from simulator.market import Candle, Tape, Trade
from simulator.money import fmt8

_ZERO = Decimal(0)


@dataclass(slots=True)
class Bar:
    """One kline of any interval, in Binance's nine fields plus ids and times."""

    interval: str
    open_time: int
    close_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = _ZERO
    quote_volume: Decimal = _ZERO
    count: int = 0
    taker_buy_volume: Decimal = _ZERO
    taker_buy_quote: Decimal = _ZERO
    first_id: int = -1
    last_id: int = -1

    def rest_row(self) -> list[object]:
        """The row of GET /api/v3/klines and /uiKlines."""
        return [
            self.open_time,
            fmt8(self.open),
            fmt8(self.high),
            fmt8(self.low),
            fmt8(self.close),
            fmt8(self.volume),
            self.close_time,
            fmt8(self.quote_volume),
            self.count,
            fmt8(self.taker_buy_volume),
            fmt8(self.taker_buy_quote),
            "0",
        ]

    def stream_body(self, symbol: str, closed: bool) -> dict[str, object]:
        """The `k` object of a `<symbol>@kline_<interval>` event."""
        return {
            "t": self.open_time,
            "T": self.close_time,
            "s": symbol,
            "i": self.interval,
            "f": self.first_id,
            "L": self.last_id,
            "o": fmt8(self.open),
            "c": fmt8(self.close),
            "h": fmt8(self.high),
            "l": fmt8(self.low),
            "v": fmt8(self.volume),
            "n": self.count,
            "x": closed,
            "q": fmt8(self.quote_volume),
            "V": fmt8(self.taker_buy_volume),
            "Q": fmt8(self.taker_buy_quote),
            "B": "0",
        }


def aggregate_candles(bar: Bar, candles: Sequence[Candle]) -> Bar:
    for c in candles:
        if c.count == 0:
            continue
        if bar.count == 0:
            bar.open, bar.high, bar.low, bar.first_id = c.open, c.high, c.low, c.first_id
        bar.high = max(bar.high, c.high)
        bar.low = min(bar.low, c.low)
        bar.close = c.close
        bar.volume += c.volume
        bar.quote_volume += c.quote_volume
        bar.count += c.count
        bar.taker_buy_volume += c.taker_buy_volume
        bar.taker_buy_quote += c.taker_buy_quote
        bar.last_id = c.last_id
    return bar


def aggregate_trades(bar: Bar, trades: Sequence[Trade]) -> Bar:
    for t in trades:
        if bar.count == 0:
            bar.open = bar.high = bar.low = t.price
            bar.first_id = t.id
        bar.high = max(bar.high, t.price)
        bar.low = min(bar.low, t.price)
        bar.close = t.price
        bar.volume += t.qty
        bar.quote_volume += t.quote_qty
        bar.count += 1
        bar.last_id = t.id
        if not t.is_buyer_maker:
            bar.taker_buy_volume += t.qty
            bar.taker_buy_quote += t.quote_qty
    return bar


class KlineBook:
    """Reads the klines of one symbol's tape, for REST and for the kline streams."""

    def __init__(self, tape: Tape) -> None:
        self._tape = tape
        # The open kline of each interval is pushed every 2 s: its closed 1m candles are
        # aggregated once and kept here, (interval -> (open time, minutes aggregated, bar)).
        self._open: dict[Interval, tuple[int, int, Bar]] = {}

    def first_open(self, interval: Interval) -> int | None:
        """The open time of the oldest kline the simulator can serve (None: no trades yet)."""
        tape = self._tape
        if interval.name == "1s":
            return interval.open_of(tape.trades[0].time) if tape.trades else None
        return interval.open_of(tape.candles[0].open_time) if tape.candles else None

    def bar(self, interval: Interval, open_time: int) -> Bar:
        """The kline opening at `open_time` (a boundary of `interval`), from what was released."""
        end = interval.next_open(open_time)
        if interval.name == "1s":
            trades = self._tape.trades
            lo = bisect_left(trades, open_time, key=_time)
            hi = bisect_left(trades, end, key=_time, lo=lo)
            prev = trades[lo - 1].price if lo > 0 else self._start_price(trades)
            return aggregate_trades(self._flat(interval, open_time, end, prev), trades[lo:hi])
        candles = self._tape.candles
        if not candles:
            return self._flat(interval, open_time, end, self._tape.spec.start_price)
        first = candles[0].open_time
        lo = max(0, (open_time - first) // MINUTE_MS)
        hi = max(0, (end - first) // MINUTE_MS)
        prev = candles[lo - 1].close if lo > 0 else candles[0].open
        if hi < len(candles) or hi - lo < 2:  # a closed kline, or a short one
            return aggregate_candles(self._flat(interval, open_time, end, prev), candles[lo:hi])
        # The open kline: every candle but the last is closed and never changes.
        done = self._open.get(interval)
        if done is None or done[0] != open_time:
            done = (open_time, open_time, self._flat(interval, open_time, end, prev))
        upto = candles[-1].open_time
        start = max(lo, (done[1] - first) // MINUTE_MS)
        prefix = aggregate_candles(done[2], candles[start : len(candles) - 1])
        self._open[interval] = (open_time, upto, prefix)
        return aggregate_candles(replace(prefix), candles[-1:])

    def select(
        self, interval: Interval, start: int | None, end: int | None, limit: int, now: int
    ) -> list[Bar]:
        """Binance's selection: klines opening in [startTime, endTime], at most `limit`.

        With startTime: the first kline whose open time is >= startTime, then forward. Without
        it: the last `limit` klines opening at or before endTime (default: now).
        """
        first = self.first_open(interval)
        if first is None:
            return []
        last = interval.open_of(now)
        if end is not None:
            last = min(last, interval.open_of(end))
        opens: list[int] = []
        if start is not None:
            cursor = max(first, interval.open_of(start))
            if cursor < start:
                cursor = interval.next_open(cursor)
            while cursor <= last and len(opens) < limit:
                opens.append(cursor)
                cursor = interval.next_open(cursor)
        else:
            cursor = last
            while cursor >= first and len(opens) < limit:
                opens.append(cursor)
                cursor = interval.open_of(cursor - 1)
            opens.reverse()
        return [self.bar(interval, t) for t in opens]

    def _flat(self, interval: Interval, open_time: int, end: int, price: Decimal) -> Bar:
        return Bar(interval.name, open_time, end - 1, price, price, price, price)

    def _start_price(self, trades: Sequence[Trade]) -> Decimal:
        return trades[0].price if trades else self._tape.spec.start_price


def _time(trade: Trade) -> int:
    return trade.time
