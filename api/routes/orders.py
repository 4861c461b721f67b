"""POST /orders: a manual market order, through the same risk checks and journal as signals."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.auth import TokenRequired
from api.convert import outcome_out
from api.deps import ServiceDep, normalise_symbol
from api.schemas import OrderIn, OrderOutcomeOut, errors
from strategy.models import Side

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post(
    "",
    response_model=OrderOutcomeOut,
    dependencies=[TokenRequired],
    responses=errors(400, 401, 404, 409, 422),
)
async def place_order(service: ServiceDep, order: OrderIn) -> OrderOutcomeOut:
    """Buy or sell `quantity` of `symbol` at market for `variant`. A refused order is a 400
    with the reason (risk limit, LOT_SIZE/NOTIONAL, the exchange's code and message)."""
    symbol = normalise_symbol(order.symbol)
    variants = [v.name for v in service.settings.variant_settings]
    if order.variant not in variants:
        raise HTTPException(404, detail=f"variant {order.variant!r} is not one of {variants}")
    if symbol not in service.symbols():
        raise HTTPException(404, detail=f"symbol {symbol} is not subscribed")
    if not service.trading_ready:
        raise HTTPException(409, detail=service.not_trading())
    outcome = await service.executor.manual_order(
        order.variant, symbol, Side(order.side), order.quantity
    )
    if not outcome.filled:
        code = f" (code {outcome.error_code})" if outcome.error_code is not None else ""
        raise HTTPException(400, detail=f"order rejected{code}: {outcome.error or outcome.status}")
    return outcome_out(outcome)
