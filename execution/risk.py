"""Risk checks before an order leaves, and the pause while the exchange rate-limits us.

- max position per symbol: the quote notional held plus the order's must stay within
  `max_position_quote` (entries only);
- per variant and UTC day (from the injected clock): realized loss at or beyond
  `daily_loss_limit_quote`, or `max_orders_per_day` orders sent, halt new entries;
  exits (closing sells, stops) stay allowed;
- a 429/418 pauses all trading for Retry-After seconds. Retry-After counts real seconds (the
  exchange's rate window is wall time), so the pause uses the event loop's monotonic time.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal
from typing import Any

from config import Settings
from core.clock import Clock
from execution.numbers import plain

DAY_MS = 86_400_000
_ZERO = Decimal(0)


class DailyCounts:
    """Orders sent and realized P&L per variant and UTC day (ms since the epoch // DAY_MS)."""

    def __init__(self) -> None:
        self.orders: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.pnl: defaultdict[tuple[str, int], Decimal] = defaultdict(Decimal)

    def record_order(self, variant: str, at_ms: int) -> None:
        self.orders[(variant, at_ms // DAY_MS)] += 1

    def record_pnl(self, variant: str, pnl: Decimal, at_ms: int) -> None:
        self.pnl[(variant, at_ms // DAY_MS)] += pnl

    def snapshot(self) -> dict[str, Any]:
        """The newest two days recorded (older days decide nothing any more)."""
        days = {day for _, day in (*self.orders, *self.pnl)}
        recent = max(days, default=0) - 1
        return {
            "orders": [[v, d, n] for (v, d), n in self.orders.items() if d >= recent],
            "pnl": [[v, d, str(p)] for (v, d), p in self.pnl.items() if d >= recent],
        }

    def restore(self, obj: dict[str, Any]) -> None:
        self.orders.clear()
        self.pnl.clear()
        for v, d, n in obj["orders"]:
            self.orders[(v, int(d))] = int(n)
        for v, d, p in obj["pnl"]:
            self.pnl[(v, int(d))] = Decimal(p)


class RiskManager:
    def __init__(
        self,
        clock: Clock,
        max_position_quote: Decimal,
        daily_loss_limit_quote: Decimal,
        max_orders_per_day: int,
    ) -> None:
        self._clock = clock
        self.max_position_quote = max_position_quote
        self.daily_loss_limit_quote = daily_loss_limit_quote
        self.max_orders_per_day = max_orders_per_day
        self.daily = DailyCounts()
        self._paused_until = 0.0  # loop.time()

    @classmethod
    def from_settings(cls, clock: Clock, settings: Settings) -> RiskManager:
        return cls(
            clock,
            settings.risk_max_position_quote,
            settings.risk_daily_loss_limit_quote,
            settings.risk_max_orders_per_day,
        )

    def _day(self, ms: int | None = None) -> int:
        return (self._clock.now_ms() if ms is None else ms) // DAY_MS

    # -- recording ---------------------------------------------------------------------------

    def record_order(self, variant: str, at_ms: int | None = None) -> None:
        """An order was sent (or found on the exchange) for `variant`."""
        self.daily.record_order(variant, self._clock.now_ms() if at_ms is None else at_ms)

    def record_pnl(self, variant: str, pnl: Decimal, at_ms: int | None = None) -> None:
        self.daily.record_pnl(variant, pnl, self._clock.now_ms() if at_ms is None else at_ms)

    # -- checks ------------------------------------------------------------------------------

    def orders_today(self, variant: str) -> int:
        return self.daily.orders.get((variant, self._day()), 0)

    def pnl_today(self, variant: str) -> Decimal:
        return self.daily.pnl.get((variant, self._day()), _ZERO)

    def halt_reason(self, variant: str) -> str | None:
        """Why `variant` may open nothing more today (daily loss, orders per day), or None."""
        key = (variant, self._clock.now_ms() // DAY_MS)  # one day for both checks
        pnl = self.daily.pnl.get(key, _ZERO)
        if pnl <= -self.daily_loss_limit_quote:
            return (
                f"daily loss limit: {variant} lost {plain(-pnl)} today"
                f" (limit {plain(self.daily_loss_limit_quote)}); entries resume at 00:00 UTC"
            )
        orders = self.daily.orders.get(key, 0)
        if orders >= self.max_orders_per_day:
            return (
                f"max orders per day: {variant} sent {orders} today"
                f" (limit {self.max_orders_per_day}); entries resume at 00:00 UTC"
            )
        return None

    def check_entry(
        self, variant: str, symbol: str, qty: Decimal, price: Decimal | None, held_qty: Decimal
    ) -> str | None:
        """Why a new entry (a BUY) must not be sent, or None."""
        halted = self.halt_reason(variant)
        if halted is not None:
            return halted
        if price is None:
            return "no price known for the symbol yet"
        notional = (held_qty + qty) * price
        if notional > self.max_position_quote:
            return (
                f"max position: {symbol} would be {plain(notional.normalize())} quote"
                f" (limit {plain(self.max_position_quote)})"
            )
        return None

    # -- pause -------------------------------------------------------------------------------

    def pause(self, seconds: float) -> None:
        """Stop sending anything for `seconds` (Retry-After of a 429/418)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)

    def paused_for(self) -> float:
        """Seconds left in the pause (0 when trading)."""
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    async def wait_until_allowed(self) -> None:
        while (left := self.paused_for()) > 0:  # noqa: ASYNC110 - a pause can be extended
            await asyncio.sleep(left)
