"""Execution's typed records -> response schemas (order records, positions).

The same shapes serve REST and the WebSocket: an `order`/`trade` event's data is a `/trades`
row plus the order's `status`, a `position` event's data a `/positions` row. Decimals are in
plain notation, never `0E-8`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api.schemas import (
    OrderEventOut,
    OrderOutcomeOut,
    PositionOut,
    RoundTripOut,
    StopOrderOut,
    TradeOut,
    VariantMoneyOut,
)
from api.serialize import iso_ms, plain
from execution.accounts import VariantMoney
from execution.models import OrderRecord, OrderStatus, Position
from execution.numbers import pct_text, quote_text
from execution.performance import RoundTrip


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def _money(value: Decimal) -> str:
    """A quote amount as every surface shows it (execution.numbers)."""
    return quote_text(value)


def position_out(
    position: Position,
    last_price: Decimal | None,
    stop: OrderRecord | None = None,
    mark_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> PositionOut:
    """A position; its unrealized P&L at `mark_price` (execution.accounts: the newest fill or
    closed candle), the price every money figure of the service is marked at."""
    unrealized = position.unrealized_pnl(mark_price)
    return PositionOut(
        variant=position.variant,
        symbol=position.symbol,
        qty=plain(position.qty),
        held_qty=plain(position.held_qty),
        entry_price=_opt(position.entry_price if position.held_qty > 0 else None),
        cost_quote=_money(position.cost_quote),
        realized_pnl=_money(position.realized_pnl),
        dust=plain(position.dust),
        fees_quote=_money(position.fees_quote),
        spent_quote=_money(position.spent_quote),
        received_quote=_money(position.received_quote),
        trades=position.trades,
        is_open=position.is_open,
        last_price=_opt(last_price),
        mark_price=_opt(mark_price),
        unrealized_pnl=None if unrealized is None else _money(unrealized),
        updated_ms=position.updated_ms,
        updated_iso=iso_ms(position.updated_ms),
        stop_order=None if stop is None else stop_order_out(stop),
        stop_price=_opt(stop_price if position.held_qty > 0 else None),
    )


def stop_order_out(stop: OrderRecord) -> StopOrderOut:
    return StopOrderOut(
        client_order_id=stop.client_order_id,
        exchange_order_id=stop.exchange_order_id,
        stop_price=_opt(stop.stop_price),
        quantity=plain(stop.quantity),
        state="open" if stop.status is OrderStatus.OPEN else "intent",
    )


def trade_out(rec: OrderRecord) -> TradeOut:
    """One filled order record as a /trades row."""
    return TradeOut(**_trade_fields(rec))


def order_event(rec: OrderRecord) -> OrderEventOut:
    """An `order` or `trade` event's data (an order record in any status) in the /trades
    row's shape, plus `status`, the rejection's code and reason."""
    return OrderEventOut(
        **_trade_fields(rec),
        status=rec.status.value,
        closing=rec.closing,
        error_code=rec.error_code,
        error=rec.error,
        time_ms=rec.time_ms,
        time_iso=iso_ms(rec.time_ms),
    )


def _trade_fields(rec: OrderRecord) -> dict[str, Any]:
    fill_time = rec.fill_time_ms
    return dict(
        client_order_id=rec.client_order_id,
        variant=rec.variant,
        symbol=rec.symbol,
        side=rec.side.value,
        quantity=plain(rec.quantity),
        executed_qty=plain(rec.executed_qty),
        price=_opt(rec.avg_price),
        quote_qty=plain(rec.quote_qty),
        commission=plain(rec.commission),
        commission_asset=rec.commission_asset,
        realized_pnl=_opt(rec.realized_pnl),
        reason=rec.reason.value,
        mode=rec.mode,
        exchange_order_id=rec.exchange_order_id,
        fill_time_ms=fill_time,
        fill_time_iso=None if fill_time is None else iso_ms(fill_time),
        signal_time_ms=rec.signal_time_ms,
        signal_time_iso=iso_ms(rec.signal_time_ms),
    )


def outcome_out(outcome: OrderRecord) -> OrderOutcomeOut:
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


def money_out(money: VariantMoney) -> VariantMoneyOut:
    """Quote figures to 8 places, percentages to 2 (execution.accounts: as every surface)."""
    return VariantMoneyOut(**money.shown())


def round_trip_out(variant: str, symbol: str, t: RoundTrip) -> RoundTripOut:
    return RoundTripOut(
        variant=variant, symbol=symbol,
        entry_time_ms=t.entry_time, entry_time_iso=iso_ms(t.entry_time),
        entry_price=plain(t.entry_price), exit_time_ms=t.exit_time,
        exit_time_iso=iso_ms(t.exit_time), exit_price=plain(t.exit_price),
        duration_s=t.hold_ms / 1000, quantity=plain(t.quantity), pnl=_money(t.pnl),
        pnl_pct=pct_text(t.pnl_pct), fees=_money(t.fees),
        exit_reason=t.exit_reason, entry_order_id=t.entry_order_id,
        exit_order_id=t.exit_order_id,
    )  # fmt: skip
