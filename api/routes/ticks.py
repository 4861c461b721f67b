"""GET /ticks: the newest trades received."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.deps import ServiceDep, SymbolQuery, normalise_symbol
from api.schemas import TickOut, errors
from api.serialize import tick_data

router = APIRouter(prefix="/ticks", tags=["ticks"])


@router.get("", response_model=list[TickOut], responses=errors(404, 422))
async def ticks(
    service: ServiceDep,
    symbol: SymbolQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[TickOut]:
    """The newest `limit` trades of `symbol` (or of each subscribed symbol), oldest first."""
    if symbol is not None:
        symbol = normalise_symbol(symbol)
        if symbol not in service.symbols():
            raise HTTPException(404, detail=f"symbol {symbol} is not subscribed")
    symbols = [symbol] if symbol else service.symbols()
    return [
        TickOut.model_validate(tick_data(t))
        for s in symbols
        for t in service.tick_store.latest(s, limit)
    ]
