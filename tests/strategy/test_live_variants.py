"""The library live: the real service against the simulator, one variant on the EMA/SMA
crossover at 1m and one on RSI at 3m. GET /strategy shows each variant's strategy and
interval, and the RSI the service computed from its own candles equals pandas' RSI of the
simulator's 3-minute klines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from binance import AsyncClient

from api.app import create_app
from service.container import Service
from simulator import Simulator
from tests.api import support
from tests.strategy import reference

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)
VARIANTS = "A:0.15,B:0.10:rsi(5,30,70)@3m"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with support.simulator(symbols=("BTCUSDT",)) as s:
        yield s


@pytest.fixture
async def service(sim: Simulator, tmp_path: Path) -> Service:
    cfg = support.settings(tmp_path, symbols="BTCUSDT", variants=VARIANTS)
    return support.simulated_service(sim, cfg)


async def test_a_3m_rsi_variant_runs_live_on_the_simulators_3m_klines(
    service: Service, sim: Simulator
) -> None:
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="service live")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            body = (await client.get("/strategy")).json()
    variants = {v["name"]: v for v in body["variants"]}
    assert (variants["A"]["strategy"], variants["A"]["interval"]) == ("ema_sma", "1m")
    assert variants["B"]["spec"] == "rsi(period=5,oversold=30.0,overbought=70.0)@3m"
    assert variants["B"]["parameters"] == {"period": 5, "oversold": 30.0, "overbought": 70.0}
    assert isinstance(variants["B"]["parameters"]["period"], int)
    b = body["symbols"]["BTCUSDT"]["B"]
    assert b["strategy"] == "rsi" and b["interval"] == "3m" and b["ready"] is True
    assert body["symbols"]["BTCUSDT"]["A"]["sma"] is not None

    exchange = AsyncClient(support.KEY, support.SECRET, testnet=True)
    exchange.API_TESTNET_URL = sim.rest_url
    try:
        rows = await exchange.get_klines(symbol="BTCUSDT", interval="1m", limit=1000)
    finally:
        await exchange.close_connection()
    frame = reference.resample(rows[:-1], 3)  # the last 1m row is the open minute
    rsi = reference.rsi(frame["close"], 5).dropna()
    assert len(rsi) >= 20
    # The service's value is the RSI of its last closed 3m candle: one of the last two
    # closed 3m klines (a 3m boundary may pass between the two reads).
    assert any(abs(b["rsi"] - x) <= 1e-9 for x in rsi.iloc[-2:]), (b["rsi"], rsi.iloc[-3:])
    assert pd.Series(list(rsi)).between(0, 100).all()
