"""GET /candles and /candles/{symbol}: closed 1-minute candles, oldest first."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from api.candle_cache import CandleJsonCache
from api.deps import ServiceDep, normalise_symbol
from api.schemas import CandleOut, CandleSeriesOut, errors
from pipeline.wire import candle_data

router = APIRouter(prefix="/candles", tags=["candles"])


def get_cache(request: Request) -> CandleJsonCache:
    cache: CandleJsonCache = request.app.state.candle_cache
    return cache


CacheDep = Annotated[CandleJsonCache, Depends(get_cache)]

Limit = Annotated[int, Query(ge=1, le=5000, description="at most this many, the newest")]


def _known(service: ServiceDep, symbol: str) -> str:
    symbol = normalise_symbol(symbol)
    if symbol not in service.symbols():
        raise HTTPException(404, detail=f"symbol {symbol} is not subscribed (see GET /symbols)")
    return symbol


@router.get("", response_model=list[CandleOut], responses=errors(404, 422))
async def candles(
    service: ServiceDep,
    cache: CacheDep,
    symbol: Annotated[str | None, Query()] = None,
    limit: Limit = 100,
) -> Response:
    """The newest `limit` closed candles of `symbol`, or of every subscribed symbol."""
    symbols = [_known(service, symbol)] if symbol else service.symbols()
    rows = [c for s in symbols for c in service.aggregator.history(s, limit)]
    return Response(cache.encode_list(rows), media_type="application/json")


@router.get("/{symbol}", response_model=CandleSeriesOut, responses=errors(404, 422))
async def candle_series(
    service: ServiceDep,
    cache: CacheDep,
    symbol: str,
    limit: Limit = 500,
    start: Annotated[int | None, Query(ge=0, description="open time from, epoch ms")] = None,
    end: Annotated[int | None, Query(ge=0, description="open time up to, epoch ms")] = None,
) -> Response:
    """Closed candles of one symbol (optionally between `start` and `end`) and the open one."""
    symbol = _known(service, symbol)
    if start is not None and end is not None and start > end:
        raise HTTPException(422, detail="start must not be after end")
    history = service.aggregator.history(symbol, limit, start, end)
    current = service.aggregator.open_candle(symbol)
    open_json = b"null" if current is None else orjson.dumps(candle_data(current, closed=False))
    body = b"".join(
        (b'{"symbol":', orjson.dumps(symbol), b',"candles":', cache.encode_list(history),
         b',"open_candle":', open_json, b"}")
    )  # fmt: skip
    return Response(body, media_type="application/json")
