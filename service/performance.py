"""Live performance per variant and per symbol, from the journal's fills (execution.performance).

The fills since the last exchange reset are read from the journal at start and followed through
the hub's `trade` events; each variant's equity (capital + realized + unrealized, as
execution.accounts) is marked at every fill (at its price) and at every closed candle (at its
close) into a bounded curve and a running drawdown; a report also marks the drawdown at the
last trade prices, so its max is never below the drawdown it sees now. Figures are computed on
request, and pushed as a /ws `performance` message at most once a second after a change.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from aggregation.models import Candle
from core.clock import Clock
from core.hub import CANDLE, PERFORMANCE, TRADE, Event, Hub, Subscriber
from execution.codec import ExchangeReset
from execution.journal import Journal
from execution.models import OrderRecord, Position
from execution.performance import (
    DrawdownMeter,
    TripStats,
    fee_in_quote,
    return_pct,
    round_trips,
    trip_stats,
)
from execution.positions import PositionBook

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
MAX_POINTS = 2000  # per variant; when full, every other point is dropped (the shape stays)
PUBLISH_EVERY_S = 1.0
QUEUE = 10_000
Lot = Callable[[str], tuple[str, str, Decimal | None]]
PriceOf = Callable[[str], Decimal | None]


@dataclass(frozen=True, slots=True)
class Figures:
    """Performance of a variant, or of one of its symbols (money in quote)."""

    stats: TripStats
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal  # every fill's commission in quote, open positions' included
    return_pct: Decimal  # (realized + unrealized) / capital × 100
    max_drawdown_pct: Decimal
    open_positions: int


@dataclass(frozen=True, slots=True)
class VariantPerformance:
    variant: str
    capital: Decimal
    equity: Decimal
    figures: Figures
    symbols: dict[str, Figures]


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    time_ms: int
    start_ms: int  # since when: the first fill after the last reset, or the service's start
    variants: list[VariantPerformance]


class LivePerformance:
    """Fills and equity marks of every variant; `report()` and `curve()` for the API."""

    def __init__(
        self,
        variants: list[str],
        capital: Decimal,
        *,
        hub: Hub,
        journal: Journal,
        clock: Clock,
        lot: Lot,
        price_of: PriceOf,
        max_points: int = MAX_POINTS,
    ) -> None:
        self._variants = list(variants)
        self.capital = capital
        self._hub = hub
        self._journal = journal
        self._clock = clock
        self._lot = lot
        self._price_of = price_of
        self._max_points = max_points
        self._fee = fee_in_quote(lambda symbol: lot(symbol)[0])
        self._started_ms = clock.now_ms()
        self._reset()

    def _reset(self) -> None:
        self._fills: list[OrderRecord] = []
        self._seen: set[str] = set()  # client order ids of the fills taken (no fill twice)
        self._book = PositionBook()
        self._marks: dict[str, Decimal] = {}  # symbol -> last fill or close price
        self._curves: dict[str, deque[tuple[int, Decimal]]] = {v: deque() for v in self._variants}
        self._meters: dict[tuple[str, str | None], DrawdownMeter] = {}

    # -- input ---------------------------------------------------------------------------------

    def load(self) -> None:
        """The journal's fills since its last reset, marked at each fill (call once the journal
        is read and any reset seen at start is journaled)."""
        self._reset()
        for entry in self._journal.records():
            if isinstance(entry, ExchangeReset):
                self._reset()
            elif isinstance(entry, OrderRecord) and entry.filled:
                self.on_fill(entry)

    def on_fill(self, fill: OrderRecord) -> None:
        if (
            fill.variant not in self._curves
            or not fill.executed_qty
            or fill.client_order_id in self._seen
        ):
            return
        self._seen.add(fill.client_order_id)
        base, quote, step = self._lot(fill.symbol)
        self._book.apply(fill, base, quote, step)
        self._fills.append(fill)
        price = fill.avg_price or fill.quote_qty / fill.executed_qty
        self._marks[fill.symbol] = price
        self._mark(fill.fill_time_ms or fill.time_ms, [fill.variant])

    def on_candle(self, candle: Candle) -> None:
        self._marks[candle.symbol] = candle.close
        self._mark(candle.close_time + 1, self._variants)

    def _mark(self, time_ms: int, variants: Iterable[str]) -> None:
        for variant in variants:
            positions = self._book.of_variant(variant)
            equity = self.capital
            for pos in positions:
                pnl = self._pnl(pos, self._marks.get(pos.symbol))
                equity += pnl
                self._meter(variant, pos.symbol).mark(self.capital + pnl)
            self._meter(variant, None).mark(equity)
            curve = self._curves[variant]
            if not curve or time_ms > curve[-1][0]:
                curve.append((time_ms, equity))
            elif time_ms == curve[-1][0]:
                curve[-1] = (time_ms, equity)
            # else: a candle that closed before the newest fill (its close came late): the
            # fill's mark stands; the drawdown above has seen this equity anyway.
            if len(curve) > self._max_points:
                kept = list(curve)[-1::-2][::-1]  # every other point, the newest kept
                curve.clear()
                curve.extend(kept)

    def _meter(self, variant: str, symbol: str | None) -> DrawdownMeter:
        meter = self._meters.get((variant, symbol))
        if meter is None:
            meter = self._meters[(variant, symbol)] = DrawdownMeter(self.capital)
        return meter

    @staticmethod
    def _pnl(pos: Position, price: Decimal | None) -> Decimal:
        """Realized + unrealized: quote received − spent + everything held at `price`."""
        return pos.received_quote - pos.spent_quote + pos.market_value(price)

    async def run(self) -> None:
        """Follow fills and closed candles; push `performance` (owned by the service)."""
        sub = self._subscribe()
        changed = False
        last = 0.0
        try:
            while True:
                if sub.overflowed.is_set():  # fell behind: marks are lost, fills are not
                    sub = self._subscribe()
                    self.load()
                try:  # not wait_for: on 3.11 it returns an event and drops a cancel with it
                    async with asyncio.timeout(PUBLISH_EVERY_S):
                        event = await sub.queue.get()
                except TimeoutError:
                    event = None
                if event is not None:
                    if event.kind == TRADE and isinstance(event.data, OrderRecord):
                        self.on_fill(event.data)
                        changed = True
                    elif event.kind == CANDLE and isinstance(event.data, Candle):
                        self.on_candle(event.data)
                        changed = True
                if changed and time.monotonic() - last >= PUBLISH_EVERY_S:
                    last = time.monotonic()
                    changed = False
                    now = self._clock.now_ms()
                    self._hub.publish(Event(PERFORMANCE, self.report(), None, now))
        finally:
            self._hub.unsubscribe(sub)

    def _subscribe(self) -> Subscriber:
        sub = self._hub.subscribe(maxsize=QUEUE)
        sub.kinds = {TRADE, CANDLE}
        return sub

    # -- output --------------------------------------------------------------------------------

    def curve(self, variant: str) -> list[tuple[int, Decimal]]:
        """(time ms, equity) marks of `variant`, oldest first (KeyError: unknown variant)."""
        return list(self._curves[variant])

    def report(self) -> PerformanceReport:
        now = self._clock.now_ms()
        first = min((f.fill_time_ms or f.time_ms for f in self._fills), default=None)
        start = min(self._started_ms, first) if first is not None else self._started_ms
        trips = round_trips(self._fills, self._fee)
        out: list[VariantPerformance] = []
        for variant in self._variants:
            positions = {p.symbol: p for p in self._book.of_variant(variant)}
            symbols: dict[str, Figures] = {}
            for symbol, pos in positions.items():
                key = (variant, symbol)
                since = trips.open_since.get(key)
                stats = trip_stats(
                    trips.closed.get(key, []), start, now, () if since is None else (since,)
                )
                figures = self._figures(stats, [pos], (variant, symbol))
                pnl = figures.realized_pnl + figures.unrealized_pnl
                self._meter(variant, symbol).mark(self.capital + pnl)
                symbols[symbol] = self._figures(stats, [pos], (variant, symbol))
            every = [t for (v, _), ts in trips.closed.items() if v == variant for t in ts]
            every.sort(key=lambda t: t.entry_time)
            opens = [t for (v, _), t in trips.open_since.items() if v == variant]
            stats = trip_stats(every, start, now, opens)
            figures = self._figures(stats, list(positions.values()), (variant, None))
            now_equity = self.capital + figures.realized_pnl + figures.unrealized_pnl
            self._meter(variant, None).mark(now_equity)
            figures = self._figures(stats, list(positions.values()), (variant, None))
            equity = self.capital + figures.realized_pnl + figures.unrealized_pnl
            out.append(VariantPerformance(variant, self.capital, equity, figures, symbols))
        return PerformanceReport(now, start, out)

    def _figures(
        self, stats: TripStats, positions: list[Position], key: tuple[str, str | None]
    ) -> Figures:
        realized = unrealized = fees = _ZERO
        for pos in positions:
            price = self._price_of(pos.symbol) or self._marks.get(pos.symbol)
            realized += pos.realized_pnl
            unrealized += self._pnl(pos, price) - pos.realized_pnl
            fees += pos.fees_quote
        meter = self._meters.get(key)
        return Figures(
            stats=stats,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            fees=fees,
            return_pct=return_pct(realized + unrealized, self.capital),
            max_drawdown_pct=meter.max_drawdown * _HUNDRED if meter is not None else _ZERO,
            open_positions=sum(1 for p in positions if p.is_open),
        )
