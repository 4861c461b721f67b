"""GET /candles and /candles/{symbol}: closed 1-minute candles, oldest first.

`GET /candles/{symbol}?interval=5m` (3m … 1d): candles rolled up from the closed 1-minute ones,
equal to Binance's klines of that interval: the service's `TimeframeBook`
(aggregation/timeframe_book.py), the same candle objects /ws publishes. An interval first asked
for is rolled up from the minutes kept (CANDLE_HISTORY); its oldest candle, when those minutes
start inside it, has `complete: false`.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from aggregation.models import Candle
from api.candle_cache import CandleJsonCache
from api.deps import ServiceDep, SymbolPath, SymbolQuery, normalise_symbol
from api.schemas import MAX_MS, CandleOut, CandleSeriesOut, IntervalName, errors
from api.serialize import candle_data

router = APIRouter(prefix="/candles", tags=["candles"])


def get_cache(request: Request) -> CandleJsonCache:
    cache: CandleJsonCache = request.app.state.candle_cache
    return cache


CacheDep = Annotated[CandleJsonCache, Depends(get_cache)]

Limit = Annotated[int, Query(ge=1, le=5000, description="at most this many, the newest")]
Interval = Annotated[
    IntervalName,
    Query(description="candle interval; above 1m rolled up from the 1m candles kept"),
]


def _known(service: ServiceDep, symbol: str) -> str:
    symbol = normalise_symbol(symbol)
    if symbol not in service.symbols():
        raise HTTPException(404, detail=f"symbol {symbol} is not subscribed (see GET /symbols)")
    return symbol


@router.get("", response_model=list[CandleOut], responses=errors(404, 422))
async def candles(
    service: ServiceDep,
    cache: CacheDep,
    symbol: SymbolQuery = None,
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
    symbol: SymbolPath,
    limit: Limit = 500,
    start: Annotated[
        int | None, Query(ge=0, le=MAX_MS, description="open time from, epoch ms")
    ] = None,
    end: Annotated[
        int | None, Query(ge=0, le=MAX_MS, description="open time up to, epoch ms")
    ] = None,
    interval: Interval = "1m",
) -> Response:
    """Closed candles of one symbol (optionally between `start` and `end`) and the open one."""
    symbol = _known(service, symbol)
    if start is not None and end is not None and start > end:
        raise HTTPException(422, detail="start must not be after end")
    if interval != "1m":
        return _rolled_up(service, cache, symbol, interval, limit, start, end)
    history = service.aggregator.history(symbol, limit, start, end)
    return _series(symbol, cache.encode_list(history), service.aggregator.open_candle(symbol))


def _rolled_up(
    service: ServiceDep,
    cache: CandleJsonCache,
    symbol: str,
    interval: str,
    limit: int,
    start: int | None,
    end: int | None,
) -> Response:
    """The series of a higher interval, from the service's timeframe book (closed candles
    encoded once, as the minutes are)."""
    book = service.timeframes
    rows = book.history(symbol, interval, limit, start, end)
    current = book.open_candle(symbol, interval, service.aggregator.open_candle(symbol))
    return _series(symbol, cache.encode_list(rows), current)


def _series(symbol: str, closed_json: bytes, current: Candle | None) -> Response:
    open_json = b"null" if current is None else orjson.dumps(candle_data(current, closed=False))
    body = b"".join(
        (b'{"symbol":', orjson.dumps(symbol), b',"candles":', closed_json,
         b',"open_candle":', open_json, b"}")
    )  # fmt: skip
    return Response(body, media_type="application/json")
