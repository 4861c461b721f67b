"""The seeded market: a regime-switching price path per symbol, its trades and their candles.

Trades are generated from the seeded RNG in market time, independently of when they are
emitted: each trade's market time is drawn from the RNG, and `Tape.advance(now_ms)` releases
every trade whose time has come. The same seed gives the same trades (ids, prices, quantities,
times, maker flags) whatever the real scheduling.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from decimal import Decimal

from simulator.config import SymbolSpec, typical_notional
from simulator.intervals import MINUTE_MS
from simulator.money import fmt8

FIRST_TRADE_ID = 1_000_000
REGIME_MIN_S = 90.0  # a trend lasts REGIME_MIN_S + an exponential of mean REGIME_EXTRA_S
REGIME_EXTRA_S = 45.0  # (market seconds): EMA(5)/SMA(10) cross every ~5 minutes
DRIFT_PER_S = 0.003 / 60  # typical trend: 30 bps per minute
NOISE_PER_SQRT_S = 0.0005 / math.sqrt(60)  # 5 bps per sqrt(minute)
PULL = 40.0  # how strongly the trend direction leans back toward the start price


@dataclass(frozen=True, slots=True)
class Trade:
    id: int
    price: Decimal
    qty: Decimal
    time: int
    is_buyer_maker: bool

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass(slots=True)
class Candle:
    """One 1-minute kline; `n == 0` is a minute without trades (flat at the previous close)."""

    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)
    quote_volume: Decimal = Decimal(0)
    count: int = 0
    taker_buy_volume: Decimal = Decimal(0)
    taker_buy_quote: Decimal = Decimal(0)
    first_id: int = -1
    last_id: int = -1

    @classmethod
    def flat(cls, open_time: int, price: Decimal) -> Candle:
        return cls(open_time, price, price, price, price)

    def add(self, trade: Trade) -> None:
        if self.count == 0:
            self.open = self.high = self.low = trade.price
            self.first_id = trade.id
        self.high = max(self.high, trade.price)
        self.low = min(self.low, trade.price)
        self.close = trade.price
        self.volume += trade.qty
        self.quote_volume += trade.quote_qty
        self.count += 1
        self.last_id = trade.id
        if not trade.is_buyer_maker:
            self.taker_buy_volume += trade.qty
            self.taker_buy_quote += trade.quote_qty

    def rest_row(self) -> list[object]:
        """The row of GET /api/v3/klines."""
        return [
            self.open_time,
            fmt8(self.open),
            fmt8(self.high),
            fmt8(self.low),
            fmt8(self.close),
            fmt8(self.volume),
            self.open_time + MINUTE_MS - 1,
            fmt8(self.quote_volume),
            self.count,
            fmt8(self.taker_buy_volume),
            fmt8(self.taker_buy_quote),
            "0",
        ]

    def stream_body(self, symbol: str, closed: bool) -> dict[str, object]:
        """The `k` object of a `<symbol>@kline_1m` event."""
        return {
            "t": self.open_time,
            "T": self.open_time + MINUTE_MS - 1,
            "s": symbol,
            "i": "1m",
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


def trade_event(symbol: str, trade: Trade, event_ms: int) -> dict[str, object]:
    """A `<symbol>@trade` event, with Binance's current fields."""
    return {
        "e": "trade",
        "E": max(event_ms, trade.time),
        "s": symbol,
        "t": trade.id,
        "p": fmt8(trade.price),
        "q": fmt8(trade.qty),
        "T": trade.time,
        "m": trade.is_buyer_maker,
        "M": True,
    }


def trade_rest(trade: Trade) -> dict[str, object]:
    """A row of GET /api/v3/trades and /historicalTrades."""
    return {
        "id": trade.id,
        "price": fmt8(trade.price),
        "qty": fmt8(trade.qty),
        "quoteQty": fmt8(trade.quote_qty),
        "time": trade.time,
        "isBuyerMaker": trade.is_buyer_maker,
        "isBestMatch": True,
    }


def agg_trade_rest(trade: Trade) -> dict[str, object]:
    """A row of GET /api/v3/aggTrades: one aggregate per trade (aggregate id = trade id)."""
    return {
        "a": trade.id,
        "p": fmt8(trade.price),
        "q": fmt8(trade.qty),
        "f": trade.id,
        "l": trade.id,
        "T": trade.time,
        "m": trade.is_buyer_maker,
        "M": True,
    }


class PricePath:
    """The seeded generator of one symbol's trades, in market time."""

    def __init__(self, spec: SymbolSpec, seed: int, rate: float, start_ms: int) -> None:
        self._spec = spec
        self._rng = random.Random(f"{seed}:tape:{spec.symbol}")
        self._rate = rate
        self._t = float(start_ms)
        self._start_log = math.log(float(spec.start_price))
        self._log_mid = self._start_log
        self._tick = float(spec.tick_size)
        self._step = float(spec.step_size)
        self._notional = float(typical_notional(spec))
        self._drift = 0.0
        self._regime_end = self._t
        self._up = self._rng.random() < 0.5
        self._next_id = FIRST_TRADE_ID

    def _new_regime(self) -> None:
        deviation = self._log_mid - self._start_log
        lean = 1.0 / (1.0 + math.exp(PULL * deviation))
        p_up = 0.5 * lean + 0.5 * (0.25 if self._up else 0.75)
        self._up = self._rng.random() < p_up
        size = DRIFT_PER_S * self._rng.uniform(0.6, 1.6)
        self._drift = size if self._up else -size
        extra = self._rng.expovariate(1 / REGIME_EXTRA_S)
        self._regime_end = self._t + 1000 * (REGIME_MIN_S + extra)

    def next_trade(self) -> Trade:
        rng = self._rng
        dt = rng.expovariate(self._rate)
        self._t += dt * 1000
        if self._t >= self._regime_end:
            self._new_regime()
        self._log_mid += self._drift * dt + NOISE_PER_SQRT_S * math.sqrt(dt) * rng.gauss(0, 1)
        mid_ticks = math.exp(self._log_mid) / self._tick
        taker_buys = rng.random() < (0.65 if self._drift > 0 else 0.35)
        ticks = max(1, math.ceil(mid_ticks) if taker_buys else math.floor(mid_ticks))
        notional = self._notional * rng.lognormvariate(-0.5, 1.0)
        steps = max(1, int(notional / (ticks * self._tick) / self._step))
        trade = Trade(
            id=self._next_id,
            price=Decimal(ticks) * self._spec.tick_size,
            qty=Decimal(steps) * self._spec.step_size,
            time=int(self._t),
            is_buyer_maker=not taker_buys,
        )
        self._next_id += 1
        return trade

    def shock(self, factor: float, now_ms: int, next_id: int) -> Trade:
        """Move the price path by `factor` at `now_ms`: the level it trends around moves too.

        The path restarts at `now_ms` with trade id `next_id` (the trade drawn ahead and not
        yet released is dropped); returns the first trade at the new level, at `now_ms`.
        """
        shift = math.log(factor)
        self._log_mid += shift
        self._start_log += shift
        self._t = float(now_ms)
        self._next_id = next_id
        ticks = max(1, round(math.exp(self._log_mid) / self._tick))
        qty_steps = max(1, int(self._notional / (ticks * self._tick) / self._step))
        trade = Trade(
            id=next_id,
            price=Decimal(ticks) * self._spec.tick_size,
            qty=Decimal(qty_steps) * self._spec.step_size,
            time=now_ms,
            is_buyer_maker=factor > 1.0,
        )
        self._next_id += 1
        return trade


class Tape:
    """One symbol's released trades and their 1m candles, both bounded windows.

    At most `cap` trades and `candle_cap` candles are kept (the oldest are dropped, in chunks
    of a tenth so that trimming stays cheap): memory does not grow over a long run.
    """

    def __init__(
        self,
        spec: SymbolSpec,
        seed: int,
        rate: float,
        origin_ms: int,
        cap: int,
        candle_cap: int = 1 << 62,
    ) -> None:
        self.spec = spec
        self._path = PricePath(spec, seed, rate, origin_ms)
        self._pending = self._path.next_trade()
        self._cap = cap
        self._candle_cap = candle_cap
        self.trades: list[Trade] = []
        self.candles: list[Candle] = []

    def advance(self, now_ms: int) -> list[Trade]:
        """Release every trade with time <= now_ms; returns the new ones, in id order."""
        released: list[Trade] = []
        while self._pending.time <= now_ms:
            trade = self._pending
            self._append(trade)
            released.append(trade)
            self._pending = self._path.next_trade()
        self.fill_to(now_ms)
        _trim(self.trades, self._cap)
        _trim(self.candles, self._candle_cap)
        return released

    def shock(self, percent: Decimal, now_ms: int) -> list[Trade]:
        """Move the price by `percent` (e.g. -10: a 10 % crash) with a trade at `now_ms`.

        Returns the trades released, the shock's own trade last.
        """
        factor = 1.0 + float(percent) / 100.0
        if factor <= 0:
            raise ValueError("a shock must leave a positive price (percent > -100)")
        released = self.advance(now_ms)
        trade = self._path.shock(factor, now_ms, self._pending.id)
        self._append(trade)
        self._pending = self._path.next_trade()
        return [*released, trade]

    def _append(self, trade: Trade) -> None:
        self.trades.append(trade)
        minute = trade.time - trade.time % MINUTE_MS
        if not self.candles:
            self.candles.append(Candle.flat(minute, trade.price))
        else:
            self.fill_to(trade.time)
        self.candles[-1].add(trade)

    def fill_to(self, now_ms: int) -> None:
        """Add flat candles up to the minute of `now_ms` (the last one stays open)."""
        if not self.candles:
            return
        minute = now_ms - now_ms % MINUTE_MS
        while self.candles[-1].open_time < minute:
            last = self.candles[-1]
            self.candles.append(Candle.flat(last.open_time + MINUTE_MS, last.close))

    def candle_at(self, open_time: int) -> Candle | None:
        """The candle of the minute starting at `open_time` (candles are consecutive)."""
        if not self.candles:
            return None
        index = (open_time - self.candles[0].open_time) // MINUTE_MS
        return self.candles[index] if 0 <= index < len(self.candles) else None

    @property
    def last_price(self) -> Decimal:
        return self.trades[-1].price if self.trades else self.spec.start_price

    def first_id(self) -> int:
        return self.trades[0].id if self.trades else FIRST_TRADE_ID

    def last_id(self) -> int:
        return self.trades[-1].id if self.trades else FIRST_TRADE_ID - 1

    def from_id(self, trade_id: int, limit: int) -> list[Trade]:
        """Up to `limit` trades with id >= trade_id (ids are consecutive)."""
        start = max(0, trade_id - self.first_id())
        return self.trades[start : start + limit]

    def latest(self, limit: int) -> list[Trade]:
        return self.trades[-limit:] if limit > 0 else []

    def between(self, start_ms: int | None, end_ms: int | None, limit: int) -> list[Trade]:
        """Up to `limit` trades with start_ms <= time <= end_ms, oldest first."""
        lo = 0 if start_ms is None else bisect_left(self.trades, start_ms, key=_time)
        hi = len(self.trades) if end_ms is None else bisect_right(self.trades, end_ms, key=_time)
        if start_ms is None and end_ms is not None:
            return self.trades[max(lo, hi - limit) : hi]
        return self.trades[lo : min(hi, lo + limit)]

    def avg_price(self, now_ms: int, minutes: int = 5) -> Decimal:
        """Volume-weighted price of the last `minutes` minutes (last price if none traded)."""
        since = now_ms - minutes * MINUTE_MS
        recent = self.between(since, now_ms, len(self.trades))
        volume = sum((t.qty for t in recent), Decimal(0))
        if volume == 0:
            return self.last_price
        return sum((t.quote_qty for t in recent), Decimal(0)) / volume


def _trim(rows: list[Trade] | list[Candle], cap: int) -> None:
    """Drop the oldest rows beyond `cap`, once they exceed it by a tenth (amortised O(1))."""
    if len(rows) > cap + max(1, cap // 10):
        del rows[: len(rows) - cap]


def _time(trade: Trade) -> int:
    return trade.time
