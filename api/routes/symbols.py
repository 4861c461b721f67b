"""GET/POST/DELETE /symbols: the symbols the service streams and trades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.auth import TokenRequired
from api.deps import ServiceDep, SymbolPath, SymbolsLockDep, normalise_symbol
from api.schemas import SymbolOut, SymbolRemovedOut, SymbolsOut, errors
from service.container import Service
from service.errors import ConflictError, NotFoundError

router = APIRouter(prefix="/symbols", tags=["symbols"])


def _symbol_out(service: Service, symbol: str) -> SymbolOut:
    feed = service.health().symbols.get(symbol)
    price = service.tick_store.last_price(symbol)
    return SymbolOut(
        symbol=symbol,
        feed=feed.status if feed is not None else "starting",
        candles=len(service.aggregator.history(symbol)),
        last_price=None if price is None else str(price),
    )


@router.get("", response_model=SymbolsOut)
async def list_symbols(service: ServiceDep) -> SymbolsOut:
    """The subscribed symbols with their feed status, candle count and last price."""
    return SymbolsOut(symbols=[_symbol_out(service, s) for s in service.symbols()])


@router.post(
    "/{symbol}",
    response_model=SymbolOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[TokenRequired],
    responses=errors(401, 404, 409, 422),
)
async def add_symbol(service: ServiceDep, lock: SymbolsLockDep, symbol: SymbolPath) -> SymbolOut:
    """Subscribe to `symbol` (checked against exchangeInfo) and warm up its candles."""
    symbol = normalise_symbol(symbol)
    try:
        async with lock:
            await service.add_symbol(symbol)
    except NotFoundError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except ConflictError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return _symbol_out(service, symbol)


@router.delete(
    "/{symbol}",
    response_model=SymbolRemovedOut,
    dependencies=[TokenRequired],
    responses=errors(401, 404, 409, 422),
)
async def remove_symbol(
    service: ServiceDep,
    lock: SymbolsLockDep,
    symbol: SymbolPath,
    force: Annotated[bool, Query(description="close open positions first")] = False,
) -> SymbolRemovedOut:
    """Unsubscribe; refused (409) while a position is open unless `force=true`. A second
    request for the same symbol waits for the first and then finds nothing to remove (404)."""
    symbol = normalise_symbol(symbol)
    try:
        async with lock:
            closed = await service.remove_symbol(symbol, force=force)
    except NotFoundError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except ConflictError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return SymbolRemovedOut(symbol=symbol, removed=True, closed_positions=closed)
