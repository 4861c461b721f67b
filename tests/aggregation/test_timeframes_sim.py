"""Our higher timeframes against the simulator's klines of every interval.

The simulator (an independent implementation that imports nothing of ours) serves klines of
any interval over REST. Our candles are built from its trades by our aggregator, rolled up by
`Rollup`, and compared field by field with its klines of the same interval, over two market
days of a quiet market (many minutes, and whole intervals, without a trade).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle
from aggregation.timeframes import INTERVALS, Rollup
from data_ingestion.backfill import rest_trade_to_tick
from simulator import Simulator
from tests.simulator.conftest import make_client, make_config

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

HISTORY_MINUTES = 2 * 1440 + 300  # covers one whole UTC day whatever the start


async def market() -> tuple[list[Candle], dict[str, list[list[Any]]]]:
    """Our closed 1m candles from the simulator's trades, and its klines of each interval."""
    config = make_config(history_minutes=HISTORY_MINUTES, trade_rate=0.01, symbols=("BTCUSDT",))
    async with Simulator(config) as sim:
        client: AsyncClient = make_client(sim)
        try:
            trades: list[dict[str, Any]] = []
            from_id = 0
            while True:
                page = await client.get_historical_trades(
                    symbol="BTCUSDT", fromId=from_id, limit=1000
                )
                trades += page
                if len(page) < 1000:
                    break
                from_id = page[-1]["id"] + 1
            klines: dict[str, list[list[Any]]] = {}
            for name, length in INTERVALS.items():
                start = trades[0]["time"] - trades[0]["time"] % length
                rows: list[list[Any]] = []
                while True:
                    page = await client.get_klines(
                        symbol="BTCUSDT", interval=name, startTime=start, limit=1000
                    )
                    rows += page
                    if len(page) < 1000:
                        break
                    start = page[-1][0] + length
                klines[name] = rows
        finally:
            await client.close_connection()
    closed: list[Candle] = []
    aggregator = CandleAggregator(history=10, on_close=closed.append)
    for row in trades:
        aggregator.add_tick(rest_trade_to_tick("BTCUSDT", row))
    return closed, klines


def _fields(row: list[Any]) -> list[Any]:
    return [*(Decimal(x) for x in row[1:6]), Decimal(row[7]), int(row[8]), Decimal(row[9]),
            Decimal(row[10])]  # fmt: skip


async def test_every_interval_equals_the_simulators_klines() -> None:
    closed, klines = await market()
    for name, length in INTERVALS.items():
        if length == 60_000:
            ours = closed
        else:
            rollup = Rollup("BTCUSDT", length)
            ours = [bar for minute in closed for bar in rollup.add(minute)]
        _compare(name, ours, klines[name])


def _compare(name: str, ours: list[Candle], rows: list[list[Any]]) -> None:
    theirs = {row[0]: row for row in rows}
    complete = [c for c in ours if c.complete]
    # The first interval holds minutes before the first trade (ours start at it): incomplete.
    assert all(c.open_time == ours[0].open_time for c in ours if not c.complete), name
    assert len(complete) >= {"1d": 1, "4h": 10, "1h": 45}.get(name, 100), name
    quiet = 0
    for c in complete:
        row = theirs[c.open_time]
        got = [c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades,
               c.taker_buy_base, c.taker_buy_quote]  # fmt: skip
        assert got == _fields(row), (name, c.open_time)
        assert c.close_time == row[6], name
        quiet += c.trades == 0
    if name in ("1m", "3m"):
        assert quiet >= 10, name  # intervals without a trade were compared too
