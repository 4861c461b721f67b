"""Live performance per variant and per symbol: round trips from the ledger's fills
(execution.performance), money from the executor's accounts (execution.accounts).

Every money figure (equity, realized, unrealized, fees, return, drawdown, the equity curve) is
the executor's `Accounts`, marked at fills and candle closes and replayed from the ledger at
start: the same figures `/strategy` shows, and the same after a restart. This module adds the
round-trip statistics, from the fills since the last exchange reset, read from the ledger at
start and then told each fill by the executor (`add_fill_listener`: never lost); it pushes a
/ws `performance` message at most once a second after a fill or a candle close.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from aggregation.models import Candle
from core.clock import Clock
from core.hub import CANDLE, PERFORMANCE, TRADE, Event, Hub, Subscriber
from execution.accounts import Accounts, VariantMoney
from execution.codec import ExchangeReset
from execution.ledger import Ledger
from execution.models import OrderRecord
from execution.performance import RoundTrip, TripStats, fee_in_quote, round_trips, trip_stats

PUBLISH_EVERY_S = 1.0
QUEUE = 10_000
Lot = Callable[[str], tuple[str, str, Decimal | None]]


@dataclass(frozen=True, slots=True)
class Figures:
    """Performance of a variant, or of one of its symbols (money in quote)."""

    stats: TripStats
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal  # every fill's commission in quote, open positions' included
    return_pct: Decimal  # (equity − capital) / capital × 100
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
    total: VariantMoney  # every variant together (execution.accounts.Accounts.total)


class LivePerformance:
    """Round trips of every variant beside its money; `report()` and `curve()` for the API."""

    def __init__(
        self, accounts: Accounts, *, hub: Hub, ledger: Ledger, clock: Clock, lot: Lot
    ) -> None:
        self.accounts = accounts
        self.capital = accounts.capital
        self._variants = accounts.variants
        self._hub = hub
        self._ledger = ledger
        self._clock = clock
        self._fee = fee_in_quote(lambda symbol: lot(symbol)[0])
        self._started_ms = clock.now_ms()
        self._reset()

    def _reset(self) -> None:
        self._fills: list[OrderRecord] = []
        self._seen: set[str] = set()  # client order ids of the fills taken (no fill twice)

    # -- input ---------------------------------------------------------------------------------

    def load(self) -> None:
        """The ledger's fills since its last reset (call once the ledger is read and any reset
        seen at start is in it)."""
        self._reset()
        for entry in self._ledger.records():
            if isinstance(entry, ExchangeReset):
                self._reset()
            elif isinstance(entry, OrderRecord) and entry.filled:
                self.on_fill(entry)

    def on_fill(self, fill: OrderRecord) -> None:
        if (
            fill.variant not in self._variants
            or not fill.executed_qty
            or fill.client_order_id in self._seen
        ):
            return
        self._seen.add(fill.client_order_id)
        self._fills.append(fill)

    async def run(self) -> None:
        """Follow fills and closed candles; push `performance` (owned by the service)."""
        sub = self._subscribe()
        changed = False
        last = 0.0
        try:
            while True:
                if sub.overflowed.is_set():  # fell behind: only news was lost
                    sub = self._subscribe()
                    changed = True
                try:  # not wait_for: on 3.11 it returns an event and drops a cancel with it
                    async with asyncio.timeout(PUBLISH_EVERY_S):
                        event = await sub.queue.get()
                except TimeoutError:
                    event = None
                if event is not None:
                    # The fills came from the executor, the marks went to the accounts: a fill
                    # or a close is news to push.
                    changed = (
                        changed
                        or (event.kind == TRADE and isinstance(event.data, OrderRecord))
                        or (event.kind == CANDLE and isinstance(event.data, Candle))
                    )
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

    def trips(
        self, variant: str | None = None, symbol: str | None = None
    ) -> list[tuple[str, str, RoundTrip]]:
        """Closed round trips since the last reset, (variant, symbol, trip), by exit time."""
        trips = round_trips(self._fills, self._fee)
        out = [
            (v, s, t)
            for (v, s), ts in trips.closed.items()
            if variant in (None, v) and symbol in (None, s)
            for t in ts
        ]
        out.sort(key=lambda row: (row[2].exit_time, row[2].exit_order_id))
        return out

    def curve(self, variant: str) -> list[tuple[int, Decimal]]:
        """(time ms, equity) marks of `variant`, oldest first (KeyError: unknown variant)."""
        return self.accounts.curve(variant)

    def report(self) -> PerformanceReport:
        now = self._clock.now_ms()
        first = min((f.fill_time_ms or f.time_ms for f in self._fills), default=None)
        start = min(self._started_ms, first) if first is not None else self._started_ms
        trips = round_trips(self._fills, self._fee)
        out: list[VariantPerformance] = []
        for variant in self._variants:
            symbols: dict[str, Figures] = {}
            for symbol in self.accounts.symbols(variant):
                key = (variant, symbol)
                since = trips.open_since.get(key)
                stats = trip_stats(
                    trips.closed.get(key, []), start, now, () if since is None else (since,)
                )
                money = self.accounts.money(variant, symbol)
                symbols[symbol] = _figures(stats, money, self.accounts.open_count(variant, symbol))
            every = [t for (v, _), ts in trips.closed.items() if v == variant for t in ts]
            every.sort(key=lambda t: t.entry_time)
            opens = [t for (v, _), t in trips.open_since.items() if v == variant]
            stats = trip_stats(every, start, now, opens)
            money = self.accounts.money(variant)
            figures = _figures(stats, money, self.accounts.open_count(variant))
            out.append(VariantPerformance(variant, self.capital, money.equity, figures, symbols))
        return PerformanceReport(now, start, out, self.accounts.total())


def _figures(stats: TripStats, money: VariantMoney, open_positions: int) -> Figures:
    return Figures(
        stats=stats,
        realized_pnl=money.realized_pnl,
        unrealized_pnl=money.unrealized_pnl,
        fees=money.fees,
        return_pct=money.return_pct,
        max_drawdown_pct=money.max_drawdown_pct,
        open_positions=open_positions,
    )
