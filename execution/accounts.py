"""Each variant's money: capital, cash, equity, return and drawdown, from its positions.

- capital: the variant's starting quote (a setting); it is what return and drawdown refer to.
- cash = capital − quote spent on BUYs (fees included) + quote received for SELLs (net).
- equity = cash + everything held (dust included) at the last price (at cost while no price).
- return % = (equity − capital) / capital × 100.
- drawdown % = (peak equity − equity) / peak equity × 100; `max_drawdown_pct` is the largest
  seen since the process started, marked at every fill and every closed candle.
A long-only variant cannot spend more than its cash (`can_spend`), so it cannot lose more
than its capital.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from execution.positions import PositionBook

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
PriceOf = Callable[[str], Decimal | None]


@dataclass(frozen=True, slots=True)
class VariantMoney:
    """One variant's money at one instant (every figure in quote currency or percent)."""

    variant: str
    capital: Decimal
    cash: Decimal
    holdings: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    return_pct: Decimal
    drawdown_pct: Decimal
    max_drawdown_pct: Decimal


class Accounts:
    """Capital and equity per variant over one PositionBook (the fills' only reader here)."""

    def __init__(
        self, variants: list[str], capital: Decimal, positions: PositionBook, price_of: PriceOf
    ) -> None:
        self.capital = capital
        self._variants = list(variants)
        self._positions = positions
        self._price_of = price_of
        self._peak: dict[str, Decimal] = {}
        self._max_dd: dict[str, Decimal] = {}

    def cash(self, variant: str) -> Decimal:
        spent, received = self._positions.flows(variant)
        return self.capital - spent + received

    def can_spend(self, variant: str, quote: Decimal) -> str | None:
        """Why `variant` cannot pay `quote` for an entry, or None."""
        cash = self.cash(variant)
        if quote > cash:
            return (
                f"capital: {variant} has {format(cash.quantize(Decimal('0.01')), 'f')} cash,"
                f" the order needs about {format(quote.quantize(Decimal('0.01')), 'f')}"
            )
        return None

    def mark(self) -> None:
        """Note every variant's equity now (for the peak and the largest drawdown)."""
        for variant in self._variants:
            self._note(variant, self._equity(variant))

    def money(self, variant: str) -> VariantMoney:
        cash = self.cash(variant)
        holdings = realized = unrealized = fees = _ZERO
        for pos in self._positions.of_variant(variant):
            last = self._price_of(pos.symbol)
            holdings += pos.market_value(last)
            realized += pos.realized_pnl
            unrealized += pos.unrealized_pnl(last) or _ZERO
            fees += pos.fees_quote
        equity = cash + holdings
        drawdown = self._note(variant, equity)
        return VariantMoney(
            variant, self.capital, cash, holdings, equity, realized, unrealized, fees,
            (equity - self.capital) / self.capital * _HUNDRED, drawdown,
            self._max_dd.get(variant, _ZERO),
        )  # fmt: skip

    def _equity(self, variant: str) -> Decimal:
        """capital − spent + received + holdings at market, in one pass over the positions."""
        total = self.capital
        price_of = self._price_of
        for pos in self._positions.of_variant(variant):
            total += pos.received_quote - pos.spent_quote + pos.market_value(price_of(pos.symbol))
        return total

    def _note(self, variant: str, equity: Decimal) -> Decimal:
        peak = max(self._peak.get(variant, self.capital), equity)
        self._peak[variant] = peak
        drawdown = (peak - equity) / peak * _HUNDRED if peak > 0 else _ZERO
        if drawdown > self._max_dd.get(variant, _ZERO):
            self._max_dd[variant] = drawdown
        return drawdown
