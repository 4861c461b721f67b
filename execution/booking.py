"""A fill, booked: the position it moves, the realized P&L it carries, and the day's risk
figures. The live executor and the backtest book every fill with it (the live executor then
marks the variants' equity for its drawdown since start; a backtest's report draws its own
equity curves from the fills and candles)."""

from __future__ import annotations

from decimal import Decimal

from execution.models import OrderRecord, Position
from execution.positions import PositionBook
from execution.risk import RiskManager


def book_fill(
    outcome: OrderRecord,
    positions: PositionBook,
    lot: tuple[str, str, Decimal | None],
    risk: RiskManager,
) -> tuple[OrderRecord, Position]:
    """Apply a filled order (`lot`: base asset, quote asset, LOT_SIZE step of its symbol);
    returns the order with its realized P&L (a SELL's) and the position after it."""
    base, quote, step = lot
    position, pnl = positions.apply(outcome, base, quote, step)
    if pnl is not None:
        outcome = outcome.with_pnl(pnl)
        risk.record_pnl(outcome.variant, pnl)
    return outcome, position
