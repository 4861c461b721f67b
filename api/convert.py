"""Execution's records -> response schemas (the journal's dicts, positions, outcomes).

The same shapes serve REST and the WebSocket: an `order`/`trade` event's data is a `/trades`
row plus the order's `status`, a `position` event's data a `/positions` row. Decimals are in
plain notation (pipeline.wire.plain), never `0E-8`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.schemas import OrderEventOut, OrderOutcomeOut, PositionOut, TradeOut
from execution.models import OrderOutcome, Position
from pipeline.wire import iso_ms, plain, plain_text


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def _text(value: Any, default: str = "0") -> str:
    """A journal decimal field (a string, or absent) in plain notation."""
    return plain_text(default if value is None else str(value)) or default


def _opt_text(value: Any) -> str | None:
    return None if value is None else plain_text(str(value))


def position_out(position: Position, last_price: Decimal | None) -> PositionOut:
    unrealized = None
    if position.is_open and position.entry_price is not None and last_price is not None:
        unrealized = position.qty * (last_price - position.entry_price)
    return PositionOut(
        variant=position.variant,
        symbol=position.symbol,
        qty=plain(position.qty),
        entry_price=_opt(position.entry_price),
        cost_quote=plain(position.cost_quote),
        realized_pnl=plain(position.realized_pnl),
        dust=plain(position.dust),
        trades=position.trades,
        is_open=position.is_open,
        last_price=_opt(last_price),
        unrealized_pnl=_opt(unrealized),
        updated_ms=position.updated_ms,
        updated_iso=iso_ms(position.updated_ms),
    )


def position_event(rec: dict[str, Any] | Position, last_price: Decimal | None) -> PositionOut:
    """A `position` event's data (Position.to_dict layout) as a /positions row."""
    if isinstance(rec, Position):
        return position_out(rec, last_price)
    entry = rec.get("entry_price")
    position = Position(
        variant=str(rec["variant"]),
        symbol=str(rec["symbol"]),
        qty=Decimal(str(rec.get("qty", "0"))),
        entry_price=None if entry is None else Decimal(str(entry)),
        cost_quote=Decimal(str(rec.get("cost_quote", "0"))),
        realized_pnl=Decimal(str(rec.get("realized_pnl", "0"))),
        dust=Decimal(str(rec.get("dust", "0"))),
        trades=int(rec.get("trades", 0)),
        updated_ms=int(rec.get("updated") or rec.get("updated_ms") or 0),
    )
    return position_out(position, last_price)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def trade_out(rec: dict[str, Any]) -> TradeOut:
    """One `filled` journal line (OrderOutcome.to_dict layout)."""
    return TradeOut(**_trade_fields(rec))


def order_event(rec: dict[str, Any]) -> OrderEventOut:
    """An `order` or `trade` event's data (any journal record: intent, filled, rejected,
    abandoned) in the /trades row's shape, plus `status`, the rejection's code and reason."""
    time_ms = int(rec.get("time") or 0)
    return OrderEventOut(
        **_trade_fields(rec),
        status=rec["type"],
        closing=bool(rec.get("closing", False)),
        error_code=_opt_int(rec.get("code")),
        error=None if rec.get("error") is None else str(rec["error"]),
        time_ms=time_ms,
        time_iso=iso_ms(time_ms),
    )


def _trade_fields(rec: dict[str, Any]) -> dict[str, Any]:
    fill_time = _opt_int(rec.get("fill_time"))
    signal_time = int(rec.get("signal_time") or 0)
    return dict(
        client_order_id=str(rec["client_order_id"]),
        variant=str(rec["variant"]),
        symbol=str(rec["symbol"]),
        side=rec["side"],
        quantity=_text(rec["quantity"]),
        executed_qty=_text(rec.get("executed_qty")),
        price=_opt_text(rec.get("avg_price")),
        quote_qty=_text(rec.get("quote_qty")),
        commission=_text(rec.get("commission")),
        commission_asset=rec.get("commission_asset"),
        realized_pnl=_opt_text(rec.get("realized_pnl")),
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
        quantity=plain(outcome.quantity),
        executed_qty=plain(outcome.executed_qty),
        avg_price=_opt(outcome.avg_price),
        quote_qty=plain(outcome.quote_qty),
        realized_pnl=_opt(outcome.realized_pnl),
        reason=outcome.reason.value,
        mode=outcome.mode,
        error_code=outcome.error_code,
        error=outcome.error,
        time_ms=outcome.time_ms,
        time_iso=iso_ms(outcome.time_ms),
    )
