"""GET /candles and /candles/{symbol}: closed 1-minute candles, oldest first.

`GET /candles/{symbol}?interval=5m` (3m … 1d): candles rolled up from the 1-minute ones kept
(CANDLE_HISTORY minutes), equal to Binance's klines of that interval (aggregation/timeframes.py);
the oldest interval, when the kept minutes start inside it, has `complete: false`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from aggregation.timeframes import roll_up_with_open
from api.candle_cache import CandleJsonCache
from api.deps import ServiceDep, normalise_symbol
from api.schemas import CandleOut, CandleSeriesOut, errors
from api.serialize import candle_data

router = APIRouter(prefix="/candles", tags=["candles"])


def get_cache(request: Request) -> CandleJsonCache:
    cache: CandleJsonCache = request.app.state.candle_cache
    return cache


CacheDep = Annotated[CandleJsonCache, Depends(get_cache)]

Limit = Annotated[int, Query(ge=1, le=5000, description="at most this many, the newest")]
# aggregation.timeframes.INTERVALS (a test checks they agree)
IntervalName = Literal["1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d"]
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
    interval: Interval = "1m",
) -> Response:
    """Closed candles of one symbol (optionally between `start` and `end`) and the open one."""
    symbol = _known(service, symbol)
    if start is not None and end is not None and start > end:
        raise HTTPException(422, detail="start must not be after end")
    if interval != "1m":
        return _rolled_up(service, symbol, interval, limit, start, end)
    history = service.aggregator.history(symbol, limit, start, end)
    current = service.aggregator.open_candle(symbol)
    open_json = b"null" if current is None else orjson.dumps(candle_data(current, closed=False))
    body = b"".join(
        (b'{"symbol":', orjson.dumps(symbol), b',"candles":', cache.encode_list(history),
         b',"open_candle":', open_json, b"}")
    )  # fmt: skip
    return Response(body, media_type="application/json")


def _rolled_up(
    service: ServiceDep, symbol: str, interval: str, limit: int, start: int | None, end: int | None
) -> Response:
    """The series of a higher interval: not cached (a rolled-up candle is a new object)."""
    minutes = service.aggregator.history(symbol)
    closed, current = roll_up_with_open(minutes, interval, service.aggregator.open_candle(symbol))
    rows = [
        c
        for c in closed
        if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
    ][-limit:]
    body = {
        "symbol": symbol,
        "candles": [candle_data(c) for c in rows],
        "open_candle": None if current is None else candle_data(current, closed=False),
    }
    return Response(orjson.dumps(body), media_type="application/json")
