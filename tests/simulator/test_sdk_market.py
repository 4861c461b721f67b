"""Binance's official SDK (binance-sdk-spot) market-data calls against the simulator.

The SDK is synchronous (requests): its calls run in a worker thread while the simulator serves
on the event loop. Its pydantic response models check the shapes. Marked e2e: importing the SDK
alone takes seconds, so it is imported in the fixture, not at collection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
import pytest_asyncio

from simulator import Simulator
from tests.simulator.conftest import make_config

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.e2e]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api() -> AsyncIterator[Any]:
    from binance_common.configuration import ConfigurationRestAPI
    from binance_sdk_spot.spot import Spot

    async with Simulator(make_config()) as sim:
        config = ConfigurationRestAPI(base_path=sim.rest_url.removesuffix("/api"), timeout=5000)
        yield Spot(config_rest_api=config).rest_api


async def call(method: Any, **kwargs: Any) -> Any:
    response = await asyncio.to_thread(method, **kwargs)
    return response.data()


async def test_depth(api: Any) -> None:
    book = await call(api.depth, symbol="BTCUSDT", limit=10)
    assert book.last_update_id > 0
    assert len(book.bids) == len(book.asks) == 10
    assert Decimal(book.bids[0][0]) < Decimal(book.asks[0][0])


async def test_klines_and_ui_klines(api: Any) -> None:
    for method in (api.klines, api.ui_klines):
        rows = await call(method, symbol="ETHUSDT", interval="5m", limit=4)
        assert len(rows) == 4
        opens = [int(r[0]) for r in rows]
        assert [b - a for a, b in pairwise(opens)] == [300_000] * 3


async def test_tickers(api: Any) -> None:
    day = await call(api.ticker24hr, symbol="BTCUSDT")
    single = day.actual_instance
    assert single.symbol == "BTCUSDT" and Decimal(single.bid_price) < Decimal(single.ask_price)
    rolling = await call(api.ticker, symbol="ETHUSDT", window_size="1h")
    assert rolling.actual_instance.symbol == "ETHUSDT"
    book = await call(api.ticker_book_ticker, symbol="ETHUSDT")
    assert Decimal(book.actual_instance.bid_price) < Decimal(book.actual_instance.ask_price)
    price = await call(api.ticker_price, symbol="BTCUSDT")
    assert Decimal(price.actual_instance.price) > 0
    avg = await call(api.avg_price, symbol="BTCUSDT")
    assert avg.mins == 5
