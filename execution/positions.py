"""Positions per (variant, symbol), changed only by fills (the one source of truth)."""

from __future__ import annotations

from decimal import Decimal

from execution.models import OrderOutcome, Position
from strategy.models import Side

_ZERO = Decimal(0)
_Q = Decimal("1e-12")  # precision kept for costs and P&L (finer than any quote precision)


class PositionBook:
    """Long-only spot positions. Commission conventions (Binance's): a BUY's commission in the
    base asset reduces the quantity received; a SELL's in the quote asset reduces the proceeds;
    a commission in any other asset (BNB) is recorded but not converted."""

    def __init__(self) -> None:
        self._positions: dict[tuple[str, str], Position] = {}

    def get(self, variant: str, symbol: str) -> Position:
        return self._positions.get((variant, symbol)) or Position(variant, symbol)

    def all(self) -> list[Position]:
        return list(self._positions.values())

    def open(self) -> list[Position]:
        return [p for p in self._positions.values() if p.is_open]

    def realized_pnl(self, variant: str | None = None) -> Decimal:
        return sum(
            (p.realized_pnl for p in self._positions.values() if variant in (None, p.variant)),
            _ZERO,
        )

    def apply(
        self, fill: OrderOutcome, base_asset: str, quote_asset: str
    ) -> tuple[Position, Decimal | None]:
        """Apply a filled order; returns the new position and the realized P&L of a SELL."""
        pos = self.get(fill.variant, fill.symbol)
        qty_exec, quote = fill.executed_qty, fill.quote_qty
        fee, fee_asset = fill.commission, fill.commission_asset
        pnl: Decimal | None = None
        updated = fill.fill_time_ms or fill.time_ms
        # Positions are built whole (not dataclasses.replace): this runs for every fill.
        if fill.side is Side.BUY:
            received = qty_exec - (fee if fee_asset == base_asset else _ZERO)
            cost = quote + (fee if fee_asset == quote_asset else _ZERO)
            new_qty = pos.qty + received
            price = fill.avg_price if fill.avg_price is not None else quote / qty_exec
            entry = (
                price
                if pos.entry_price is None or pos.qty == 0
                else ((pos.entry_price * pos.qty + price * received) / new_qty).quantize(_Q)
            )
            pos = Position(
                pos.variant, pos.symbol, new_qty, entry, pos.cost_quote + cost,
                pos.realized_pnl, pos.dust, pos.trades + 1, updated,
            )  # fmt: skip
        else:
            sold = min(qty_exec, pos.qty)
            proceeds = quote - (fee if fee_asset == quote_asset else _ZERO)
            left = pos.qty - qty_exec - (fee if fee_asset == base_asset else _ZERO)
            if fill.closing or left <= 0 or pos.qty == 0:
                cost_part = pos.cost_quote  # the unsellable rest (dust) is part of this exit
                dust = pos.dust + max(left, _ZERO)
                left = _ZERO
            else:
                cost_part = (pos.cost_quote * sold / pos.qty).quantize(_Q)
                dust = pos.dust
            pnl = (proceeds - cost_part).quantize(_Q)
            pos = Position(
                pos.variant, pos.symbol, left, pos.entry_price if left > 0 else None,
                pos.cost_quote - cost_part, pos.realized_pnl + pnl, dust, pos.trades + 1, updated,
            )  # fmt: skip
        self._positions[(fill.variant, fill.symbol)] = pos
        return pos, pnl
