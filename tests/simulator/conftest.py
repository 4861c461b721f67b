"""Fixtures: a simulator on a free loopback port and python-binance clients pointed at it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from binance import AsyncClient

from simulator import Simulator, SimulatorConfig

KEY = "test-key"
SECRET = "test-secret"
START_MS = 1_781_500_000_000 - 1_781_500_000_000 % 60_000


def make_config(**overrides: Any) -> SimulatorConfig:
    values: dict[str, Any] = {
        "seed": 7,
        "speed": 600.0,
        "history_minutes": 30,
        "api_key": KEY,
        "api_secret": SECRET,
        "start_ms": START_MS,
    }
    values.update(overrides)
    return SimulatorConfig(**values)


def sync(client: AsyncClient, sim: Simulator) -> None:
    """Take python-binance's timestamp offset from the simulator's (fast) clock."""
    client.timestamp_offset = sim.clock.now_ms() - int(time.time() * 1000)


def make_client(sim: Simulator, key: str = KEY, secret: str = SECRET, **kw: Any) -> AsyncClient:
    client = AsyncClient(key, secret, testnet=True, **kw)
    client.API_TESTNET_URL = sim.rest_url
    sync(client, sim)
    return client


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(make_config()) as running:
        yield running


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[AsyncClient]:
    c = make_client(sim)
    yield c
    await c.close_connection()


@pytest.fixture
def load(binance_data: Path) -> Callable[[str], Any]:
    def _load(relative: str) -> Any:
        return json.loads((binance_data / relative).read_text())

    return _load


def assert_shape(actual: Any, recorded: Any, extra: frozenset[str] = frozenset()) -> None:
    """Same keys (recorded ⊆ actual ⊆ recorded ∪ extra) and same value types, recursively."""
    if isinstance(recorded, dict):
        assert isinstance(actual, dict), actual
        assert set(recorded) <= set(actual), set(recorded) - set(actual)
        assert set(actual) <= set(recorded) | extra, set(actual) - set(recorded) - extra
        for key, value in recorded.items():
            assert_shape(actual[key], value, extra)
    elif isinstance(recorded, list):
        assert isinstance(actual, list), actual
        if recorded and actual and not isinstance(recorded[0], (dict, list)):
            assert [type(v) for v in actual] == [type(v) for v in recorded]
        elif recorded and actual:
            for item in actual:
                assert_shape(item, recorded[0], extra)
    else:
        assert type(actual) is type(recorded), (actual, recorded)
        if isinstance(recorded, str) and _is_decimal(recorded):
            assert _is_decimal(actual), actual


def _is_decimal(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


def candles_from_trades(trades: list[dict[str, Any]]) -> dict[int, list[Any]]:
    """1m candles computed independently from REST trade rows: minute -> 9 fields."""
    out: dict[int, list[Any]] = {}
    for t in trades:
        minute = t["time"] - t["time"] % 60_000
        price, qty = Decimal(t["price"]), Decimal(t["qty"])
        c = out.get(minute)
        if c is None:
            c = out[minute] = [
                price,
                price,
                price,
                price,
                Decimal(0),
                Decimal(0),
                0,
                Decimal(0),
                Decimal(0),
            ]
        c[1], c[2], c[3] = max(c[1], price), min(c[2], price), price
        c[4] += qty
        c[5] += price * qty
        c[6] += 1
        if not t["isBuyerMaker"]:
            c[7] += qty
            c[8] += price * qty
    return out


def kline_fields(row: list[Any]) -> list[Any]:
    """The nine comparable fields of a REST kline row, as Decimals / int."""
    return [
        Decimal(row[1]),
        Decimal(row[2]),
        Decimal(row[3]),
        Decimal(row[4]),
        Decimal(row[5]),
        Decimal(row[7]),
        row[8],
        Decimal(row[9]),
        Decimal(row[10]),
    ]
