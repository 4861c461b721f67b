"""Warm-up from REST `/api/v3/klines`: the closed candles before the stream starts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aggregation.models import Candle, CandleSource
from core.clock import MINUTE_MS


def kline_to_candle(symbol: str, row: list[Any]) -> Candle:
    """One `/api/v3/klines` row -> Candle (source=warmup). Raises ValueError on a bad row."""
    if not isinstance(row, list) or len(row) < 11:
        raise ValueError(f"kline row of {symbol} is not an 11+ field list: {row!r:.80}")
    open_time = int(row[0])
    if open_time % MINUTE_MS:
        raise ValueError(f"kline open time {open_time} is not on a minute boundary")
    return Candle(
        symbol,
        open_time,
        Decimal(row[1]),
        Decimal(row[2]),
        Decimal(row[3]),
        Decimal(row[4]),
        Decimal(row[5]),
        Decimal(row[7]),
        int(row[8]),
        Decimal(row[9]),
        Decimal(row[10]),
        True,
        CandleSource.WARMUP,
    )


def closed_klines(symbol: str, rows: list[Any], now_ms: int) -> list[Candle]:
    """The rows whose minute has ended by `now_ms` (the still-open last kline is dropped)."""
    return [kline_to_candle(symbol, row) for row in rows if int(row[0]) + MINUTE_MS <= now_ms]


async def warm_up_from_rest(
    client: Any, symbol: str, limit: int, now_ms: int | None = None
) -> list[Candle]:
    """The last closed 1m klines of `symbol` from REST (python-binance AsyncClient).

    Without `now_ms` the last row is taken as the still-open candle and dropped (Binance
    always returns the current minute last); with it, every row ending after `now_ms` is.
    """
    rows = await client.get_klines(symbol=symbol, interval="1m", limit=min(limit + 1, 1000))
    if not isinstance(rows, list):
        raise ValueError(f"klines of {symbol}: expected a list, got {type(rows).__name__}")
    if now_ms is None:
        return [kline_to_candle(symbol, row) for row in rows[:-1]][-limit:]
    return closed_klines(symbol, rows, now_ms)[-limit:]
