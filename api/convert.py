"""Execution's records -> response schemas (the journal's dicts, positions, outcomes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.schemas import OrderOutcomeOut, PositionOut, TradeOut
from execution.models import OrderOutcome, Position
from service.wire import iso_ms


def position_out(position: Position, last_price: Decimal | None) -> PositionOut:
    unrealized = None
    if position.is_open and position.entry_price is not None and last_price is not None:
        unrealized = position.qty * (last_price - position.entry_price)
    return PositionOut(
        variant=position.variant,
        symbol=position.symbol,
        qty=str(position.qty),
        entry_price=None if position.entry_price is None else str(position.entry_price),
        cost_quote=str(position.cost_quote),
        realized_pnl=str(position.realized_pnl),
        dust=str(position.dust),
        trades=position.trades,
        is_open=position.is_open,
        last_price=None if last_price is None else str(last_price),
        unrealized_pnl=None if unrealized is None else str(unrealized),
        updated_ms=position.updated_ms,
        updated_iso=iso_ms(position.updated_ms),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def trade_out(rec: dict[str, Any]) -> TradeOut:
    """One `filled` journal line (OrderOutcome.to_dict layout)."""
    fill_time = _opt_int(rec.get("fill_time"))
    signal_time = int(rec.get("signal_time") or 0)
    return TradeOut(
        client_order_id=str(rec["client_order_id"]),
        variant=str(rec["variant"]),
        symbol=str(rec["symbol"]),
        side=rec["side"],
        quantity=str(rec["quantity"]),
        executed_qty=str(rec.get("executed_qty", "0")),
        price=rec.get("avg_price"),
        quote_qty=str(rec.get("quote_qty", "0")),
        commission=str(rec.get("commission", "0")),
        commission_asset=rec.get("commission_asset"),
        realized_pnl=rec.get("realized_pnl"),
        reason=str(rec["reason"]),
        mode=str(rec["mode"]),
        exchange_order_id=_opt_int(rec.get("exchange_order_id")),
        fill_time_ms=fill_time,
        fill_time_iso=None if fill_time is None else iso_ms(fill_time),
        signal_time_ms=signal_time,
        signal_time_iso=iso_ms(signal_time),
    )


def outcome_out(outcome: OrderOutcome) -> OrderOutcomeOut:
    return OrderOutcomeOut(
        status=outcome.status.value,
        client_order_id=outcome.client_order_id,
        variant=outcome.variant,
        symbol=outcome.symbol,
        side=outcome.side.value,
        quantity=str(outcome.quantity),
        executed_qty=str(outcome.executed_qty),
        avg_price=None if outcome.avg_price is None else str(outcome.avg_price),
        quote_qty=str(outcome.quote_qty),
        realized_pnl=None if outcome.realized_pnl is None else str(outcome.realized_pnl),
        reason=outcome.reason.value,
        mode=outcome.mode,
        error_code=outcome.error_code,
        error=outcome.error,
        time_ms=outcome.time_ms,
        time_iso=iso_ms(outcome.time_ms),
    )
