"""GET /candles/{symbol}?interval=…: the real service's rolled-up candles equal the
simulator's klines of the same interval (an implementation that imports nothing of ours)."""

from __future__ import annotations

import itertools
import typing
from decimal import Decimal
from typing import Any

import httpx
import pytest
from binance import AsyncClient

from aggregation.timeframes import INTERVALS
from api.schemas import IntervalName
from service.container import Service
from simulator import Simulator
from tests.api import support

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

FIELDS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base",
          "taker_buy_quote")  # fmt: skip


def _kline(row: list[Any]) -> dict[str, Any]:
    values = [row[1], row[2], row[3], row[4], row[5], row[7], row[8], row[9], row[10]]
    return {
        k: (int(v) if k == "trades" else Decimal(v)) for k, v in zip(FIELDS, values, strict=True)
    }


def _ours(candle: dict[str, Any]) -> dict[str, Any]:
    return {k: (int(candle[k]) if k == "trades" else Decimal(candle[k])) for k in FIELDS}


async def test_every_interval_equals_the_simulators_klines(
    client: httpx.AsyncClient, service: Service, sim: Simulator
) -> None:
    assert list(typing.get_args(IntervalName)) == list(INTERVALS)
    # A few live minutes after the warm-up, so stream candles are rolled up too.
    first = service.aggregator.history("BTCUSDT", 1)[0].open_time
    await support.wait_for(
        lambda: service.aggregator.history("BTCUSDT", 1)[0].open_time >= first + 180_000,
        timeout=30,
        what="3 live minutes",
    )
    exchange = AsyncClient(support.KEY, support.SECRET, testnet=True)
    exchange.API_TESTNET_URL = sim.rest_url
    compared = 0
    try:
        for name, length in INTERVALS.items():
            body = (
                await client.get("/candles/BTCUSDT", params={"interval": name, "limit": 5000})
            ).json()
            rows = await exchange.get_klines(symbol="BTCUSDT", interval=name, limit=1000)
            theirs = {row[0]: row for row in rows}
            candles = body["candles"]
            assert body["symbol"] == "BTCUSDT", name
            assert candles or length >= 4 * 3_600_000, name  # ~2 h of history: no 4h/1d closed
            for c in candles:
                assert c["open_time"] % length == 0
                assert c["close_time"] == c["open_time"] + length - 1
                if not c["complete"]:
                    assert c is candles[0], name  # only the oldest, cut by the history's start
                    continue
                assert _ours(c) == _kline(theirs[c["open_time"]]), (name, c["open_time"])
                compared += 1
            current = body["open_candle"]
            assert current is not None and current["closed"] is False
            assert current["open_time"] % length == 0, name
            assert not candles or current["open_time"] > candles[-1]["open_time"], name
    finally:
        await exchange.close_connection()
    assert compared >= 100  # 1m alone is ~120 warm-up minutes; 3m … 30m add dozens more


async def test_a_wrong_interval_is_a_422_and_bounds_apply(client: httpx.AsyncClient) -> None:
    bad = await client.get("/candles/BTCUSDT", params={"interval": "7m"})
    assert bad.status_code == 422 and bad.json()["detail"]
    five = (await client.get("/candles/BTCUSDT", params={"interval": "5m", "limit": 3})).json()
    times = [c["open_time"] for c in five["candles"]]
    assert len(times) == 3 and [b - a for a, b in itertools.pairwise(times)] == [300_000] * 2
    bounded = await client.get(
        "/candles/BTCUSDT", params={"interval": "5m", "start": times[1], "end": times[1]}
    )
    assert [c["open_time"] for c in bounded.json()["candles"]] == [times[1]]
