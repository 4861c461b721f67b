"""Candles for strategy tests: real recorded klines and crafted closes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from aggregation.models import Candle


def candle(symbol: str, open_time: int, close: str | Decimal, complete: bool = True) -> Candle:
    c = Decimal(close)
    return Candle(
        symbol, open_time, c, c, c, c, Decimal(1), c, 1, Decimal(0), Decimal(0), complete=complete
    )


def candle_from_row(symbol: str, row: list[object]) -> Candle:
    return Candle(
        symbol=symbol,
        open_time=int(str(row[0])),
        open=Decimal(str(row[1])),
        high=Decimal(str(row[2])),
        low=Decimal(str(row[3])),
        close=Decimal(str(row[4])),
        volume=Decimal(str(row[5])),
        quote_volume=Decimal(str(row[7])),
        trades=int(str(row[8])),
        taker_buy_base=Decimal(str(row[9])),
        taker_buy_quote=Decimal(str(row[10])),
    )


@pytest.fixture(scope="session")
def testnet_candles(binance_data: Path) -> list[Candle]:
    """The 499 closed testnet klines (the last recorded row is still open and is dropped)."""
    rows = json.loads((binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json").read_text())
    return [candle_from_row("BTCUSDT", row) for row in rows[:-1]]
