"""GET /positions, GET /positions/{symbol}, POST /positions/{variant}/{symbol}/close."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.auth import TokenRequired
from api.convert import outcome_out, position_out
from api.deps import ServiceDep, SymbolPath, VariantPath, normalise_symbol, variant_name
from api.schemas import OrderOutcomeOut, PositionOut, errors
from execution.order_plan import nothing_to_close
from service.container import Service

router = APIRouter(prefix="/positions", tags=["positions"])


def _variants(service: Service) -> list[str]:
    return [v.name for v in service.settings.variant_settings]


def _all(service: Service, symbol: str | None = None) -> list[PositionOut]:
    out: list[PositionOut] = []
    symbols = [symbol] if symbol else [*service.symbols(), *service.orphans()]
    for s in symbols:
        price = service.tick_store.last_price(s)
        for variant in _variants(service):
            stop = service.stop_of(variant, s)
            position = service.positions.get(variant, s)
            out.append(position_out(position, price, stop, service.mark_price(s),
                                    service.stop_price(variant, s)))  # fmt: skip
    return out


@router.get("", response_model=list[PositionOut])
async def positions(service: ServiceDep) -> list[PositionOut]:
    """Every (variant, symbol) position, open or flat, with realized and unrealized P&L."""
    return _all(service)


@router.get("/{symbol}", response_model=list[PositionOut], responses=errors(404))
async def positions_of(service: ServiceDep, symbol: SymbolPath) -> list[PositionOut]:
    """The positions of one symbol, one per variant."""
    symbol = normalise_symbol(symbol)
    if symbol not in service.symbols():
        raise HTTPException(404, detail=f"symbol {symbol} is not subscribed")
    return _all(service, symbol)


@router.post(
    "/{variant}/{symbol}/close",
    response_model=OrderOutcomeOut,
    dependencies=[TokenRequired],
    responses=errors(400, 401, 404, 409, 422),
)
async def close_position(
    service: ServiceDep, variant: VariantPath, symbol: SymbolPath
) -> OrderOutcomeOut:
    """A manual market exit of the whole position (journaled like every order)."""
    symbol = normalise_symbol(symbol)
    variant = variant_name(variant)
    if variant not in _variants(service):
        raise HTTPException(404, detail=f"variant {variant!r} is not one of {_variants(service)}")
    if symbol not in service.symbols():
        raise HTTPException(404, detail=f"symbol {symbol} is not subscribed")
    if not service.positions.get(variant, symbol).is_open:
        raise HTTPException(409, detail=nothing_to_close(variant, symbol))
    if not service.trading_ready:
        raise HTTPException(409, detail=service.not_trading())
    outcome = await service.executor.close_position(variant, symbol)
    if outcome.error == nothing_to_close(variant, symbol):  # another exit came first
        raise HTTPException(409, detail=outcome.error)
    if not outcome.filled:
        raise HTTPException(400, detail=f"close rejected: {outcome.error or outcome.status}")
    return outcome_out(outcome)
