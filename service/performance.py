"""Live performance per variant and per symbol: round trips from the ledger's fills
(execution.performance), money from the executor's accounts (execution.accounts).

Every money figure (equity, realized, unrealized, fees, return, drawdown, the equity curve) is
the executor's `Accounts`, marked at fills and candle closes and replayed from the ledger at
start: the same figures `/strategy` shows, and the same after a restart. This module adds the
round-trip statistics since the last exchange reset (execution.performance.TripFigures: running
tallies, not a list of fills), loaded from the ledger's trading state at start and then told
each fill by the executor (`add_fill_listener`: never lost); it pushes a /ws `performance`
message at most once a second after a fill or a candle close. The list of round trips is a
ledger query (`Ledger.round_trips_page`).
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
from execution.models import OrderRecord
from execution.performance import FeeQuote, TripFigures, TripStats, fee_in_quote

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
    start_ms: int  # since when: the first mark (fill or close) after the last reset, else start
    variants: list[VariantPerformance]
    total: VariantMoney  # every variant together (execution.accounts.Accounts.total)


class LivePerformance:
    """Round trips of every variant beside its money; `report()` and `curve()` for the API."""

    def __init__(self, accounts: Accounts, *, hub: Hub, clock: Clock, lot: Lot) -> None:
        self.accounts = accounts
        self.capital = accounts.capital
        self._variants = accounts.variants
        self._hub = hub
        self._clock = clock
        self.fee: FeeQuote = fee_in_quote(lambda symbol: lot(symbol)[0])
        self._started_ms = clock.now_ms()
        self.figures = TripFigures(self.fee)

    # -- input ---------------------------------------------------------------------------------

    def restore(self, figures: TripFigures) -> None:
        """The round-trip figures of the ledger's trading state (at start)."""
        self.figures.restore(figures.snapshot())

    def on_reset(self) -> None:
        """The exchange was wiped: the figures start again."""
        self.figures.reset()

    def on_fill(self, fill: OrderRecord) -> None:
        if fill.variant in self._variants:
            self.figures.on_fill(fill)

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

    def curve(self, variant: str) -> list[tuple[int, Decimal]]:
        """(time ms, equity) marks of `variant`, oldest first (KeyError: unknown variant)."""
        return self.accounts.curve(variant)

    def report(self) -> PerformanceReport:
        now = self._clock.now_ms()
        first = self.accounts.first_mark_ms()  # the same after a restart
        start = first if first is not None else self._started_ms
        open_since = self.figures.book.open_since()
        out: list[VariantPerformance] = []
        for variant in self._variants:
            symbols: dict[str, Figures] = {}
            for symbol in self.accounts.symbols(variant):
                since = open_since.get((variant, symbol))
                stats = self.figures.tally(variant, symbol).stats(
                    start, now, () if since is None else (since,)
                )
                money = self.accounts.money(variant, symbol)
                symbols[symbol] = _figures(stats, money, self.accounts.open_count(variant, symbol))
            opens = [t for (v, _), t in open_since.items() if v == variant]
            stats = self.figures.tally(variant).stats(start, now, opens)
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
