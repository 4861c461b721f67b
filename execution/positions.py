"""Positions per (variant, symbol), changed only by fills (the one source of truth).

Average-cost accounting, long-only spot, Binance's commission conventions: a BUY's commission
in the base asset reduces the quantity received, a SELL's in the quote asset reduces the
proceeds. A commission in a third asset (BNB) cannot be valued here: it is logged and left out.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from decimal import ROUND_DOWN, Decimal
from typing import Any

from execution.models import OrderRecord, Position
from strategy.models import Side

log = logging.getLogger(__name__)
_ZERO = Decimal(0)


def on_step(qty: Decimal, step: Decimal | None) -> Decimal:
    """`qty` rounded down to the LOT_SIZE step (unchanged when the step is unknown)."""
    if not step or qty <= 0:
        return max(qty, _ZERO)
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step


class PositionBook:
    """Long-only spot positions, one per (variant, symbol)."""

    def __init__(self) -> None:
        self._positions: dict[tuple[str, str], Position] = {}
        self._by_variant: dict[str, dict[str, Position]] = {}  # the same, by variant
        self._flows: dict[str, tuple[Decimal, Decimal]] = {}  # variant -> (spent, received)
        # symbol -> the variants holding any of it (as a dict: insertion-ordered, O(1) in);
        # kept as positions change, so a candle close does not ask every variant.
        self._holders: dict[str, dict[str, None]] = {}

    def get(self, variant: str, symbol: str) -> Position:
        return self._positions.get((variant, symbol)) or Position(variant, symbol)

    def all(self) -> list[Position]:
        return list(self._positions.values())

    def open(self) -> list[Position]:
        return [p for p in self._positions.values() if p.is_open]

    def of_variant(self, variant: str) -> list[Position]:
        return list(self._by_variant.get(variant, {}).values())

    def holds(self, variant: str, symbol: str) -> bool:
        """Whether `variant` holds any of `symbol` (dust included: it is valued at market)."""
        return variant in self._holders.get(symbol, ())

    def holders(self, symbol: str) -> Collection[str]:
        """The variants that hold any of `symbol` (dust included), in no set order."""
        return self._holders.get(symbol, {}).keys()

    def _set(self, pos: Position) -> None:
        self._positions[(pos.variant, pos.symbol)] = pos
        self._by_variant.setdefault(pos.variant, {})[pos.symbol] = pos
        holders = self._holders.setdefault(pos.symbol, {})
        if pos.held_qty > 0:
            holders[pos.variant] = None
        else:
            holders.pop(pos.variant, None)

    def flows(self, variant: str) -> tuple[Decimal, Decimal]:
        """Quote spent on BUYs (fees included) and received for SELLs (net of fees) by all
        of `variant`'s positions: the sums of their `spent_quote` / `received_quote`."""
        return self._flows.get(variant, (_ZERO, _ZERO))

    def realized_pnl(self, variant: str | None = None) -> Decimal:
        return sum(
            (p.realized_pnl for p in self._positions.values() if variant in (None, p.variant)),
            _ZERO,
        )

    def clear(self, variant: str, symbol: str) -> None:
        """Forget a position (the exchange was reset: what it held is gone)."""
        gone = self._positions.pop((variant, symbol), None)
        self._by_variant.get(variant, {}).pop(symbol, None)
        self._holders.get(symbol, {}).pop(variant, None)
        if gone is not None:
            spent, received = self.flows(variant)
            self._flows[variant] = (spent - gone.spent_quote, received - gone.received_quote)

    def snapshot(self) -> list[dict[str, Any]]:
        """Every position as plain JSON (a checkpoint of the trading state)."""
        return [
            {"variant": p.variant, "symbol": p.symbol, "qty": str(p.qty),
             "held_qty": str(p.held_qty),
             "entry_price": None if p.entry_price is None else str(p.entry_price),
             "cost_quote": str(p.cost_quote), "realized_pnl": str(p.realized_pnl),
             "spent_quote": str(p.spent_quote), "received_quote": str(p.received_quote),
             "fees_quote": str(p.fees_quote), "trades": p.trades, "updated_ms": p.updated_ms}
            for p in self._positions.values()
        ]  # fmt: skip

    def restore(self, rows: list[dict[str, Any]]) -> None:
        """The positions of a `snapshot`, in place of what the book held."""
        self._positions.clear()
        self._by_variant.clear()
        self._flows.clear()
        self._holders.clear()
        for r in rows:
            entry = r["entry_price"]
            pos = Position(
                r["variant"], r["symbol"], Decimal(r["qty"]), Decimal(r["held_qty"]),
                None if entry is None else Decimal(entry), Decimal(r["cost_quote"]),
                Decimal(r["realized_pnl"]), Decimal(r["spent_quote"]),
                Decimal(r["received_quote"]), Decimal(r["fees_quote"]), int(r["trades"]),
                int(r["updated_ms"]),
            )  # fmt: skip
            self._set(pos)
            spent, received = self.flows(pos.variant)
            self._flows[pos.variant] = (spent + pos.spent_quote, received + pos.received_quote)

    def apply(
        self, fill: OrderRecord, base_asset: str, quote_asset: str, step: Decimal | None
    ) -> tuple[Position, Decimal | None]:
        """Apply a filled order; returns the new position and the realized P&L of a SELL."""
        pos = before = self.get(fill.variant, fill.symbol)
        qty_exec, quote = fill.executed_qty, fill.quote_qty
        fee, fee_asset = fill.commission, fill.commission_asset
        price = fill.avg_price if fill.avg_price is not None else quote / qty_exec
        base_fee = fee if fee_asset == base_asset else _ZERO
        quote_fee = fee if fee_asset == quote_asset else _ZERO
        if fee and fee_asset not in (base_asset, quote_asset):
            log.warning(
                "%s pays commission %s %s: not valued in P&L", fill.client_order_id, fee, fee_asset
            )
        fees_quote = pos.fees_quote + quote_fee + base_fee * price
        pnl: Decimal | None = None
        updated = fill.fill_time_ms or fill.time_ms
        if fill.side is Side.BUY:
            received = qty_exec - base_fee
            held = pos.held_qty + received
            entry: Decimal | None = (
                price
                if pos.entry_price is None or pos.held_qty <= 0
                else (pos.entry_price * pos.held_qty + price * received) / held
            )
            cost = pos.cost_quote + quote + quote_fee
            spent, got = pos.spent_quote + quote + quote_fee, pos.received_quote
        else:
            leaving = min(qty_exec + base_fee, pos.held_qty)
            proceeds = quote - quote_fee
            held = pos.held_qty - leaving
            # Average cost: what leaves takes its share of the cost; what stays keeps the rest.
            cost_part = pos.cost_quote if held <= 0 else pos.cost_quote * leaving / pos.held_qty
            pnl = proceeds - cost_part
            cost = pos.cost_quote - cost_part
            entry = pos.entry_price if held > 0 else None
            spent, got = pos.spent_quote, pos.received_quote + proceeds
        pos = Position(
            pos.variant, pos.symbol, on_step(held, step), held, entry, cost,
            pos.realized_pnl + (pnl or _ZERO), spent, got, fees_quote, pos.trades + 1, updated,
        )  # fmt: skip
        self._set(pos)
        total_spent, total_received = self.flows(fill.variant)
        self._flows[fill.variant] = (
            total_spent + spent - before.spent_quote,
            total_received + got - before.received_quote,
        )
        return pos, pnl
