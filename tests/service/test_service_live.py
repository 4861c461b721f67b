"""The service against the simulator: server-time offset sync (live clock) and --record."""

from __future__ import annotations

from pathlib import Path

import pytest
from binance import AsyncClient

from api.app import create_app
from core.clock import SimulatedClock, SystemClock
from recording.format import read_recording, recorded_tick
from recording.recorder import Recorder
from simulator import Simulator, SimulatorConfig
from tests.api import support
from wiring.compose import build_service

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)


async def test_live_clock_takes_the_server_time_offset(tmp_path: Path) -> None:
    # The simulator's market clock starts at the last whole minute: it lags the wall clock.
    config = SimulatorConfig(seed=5, speed=1.0, api_key=support.KEY, api_secret=support.SECRET)
    async with Simulator(config) as sim:
        client = AsyncClient(None, None, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        clock = SystemClock()
        service = build_service(
            support.settings(tmp_path), mode="paper", clock=clock, client=client,
            stream_url=sim.stream_url,
        )  # fmt: skip
        app = create_app(service)
        async with app.router.lifespan_context(app):
            await support.wait_for(lambda: service.trading_ready, what="exchange loaded")
            assert abs(clock.now_ms() - sim.clock.now_ms()) < 250
            assert service.mode == "paper" and service.health().mode == "paper"


async def test_record_writes_what_the_pipeline_consumed(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl.gz"
    client = AsyncClient(support.KEY, support.SECRET, testnet=True)
    client.API_TESTNET_URL = sim.rest_url
    service = build_service(
        support.settings(tmp_path), mode="simulated", client=client,
        clock=SimulatedClock(sim.clock.now_ms, sim.clock.speed),
        stream_url=sim.stream_url, recorder=Recorder(path), speed=support.SPEED,
    )  # fmt: skip
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="live")
        await support.wait_for(lambda: len(service.tick_store.latest("BTCUSDT")) >= 20)
    events = [event for _, event in read_recording(path)]
    kinds = [e["e"] for e in events]
    first_trade = kinds.index("trade")
    assert kinds[0] == "recording" and events[0]["symbols"] == ["BTCUSDT", "ETHUSDT"]
    before = events[:first_trade]
    assert [e["info"]["symbol"] for e in before if e["e"] == "symbolInfo"] == ["BTCUSDT", "ETHUSDT"]
    warmups = {e["s"]: e["k"] for e in before if e["e"] == "warmup"}
    assert set(warmups) == {"BTCUSDT", "ETHUSDT"}
    for symbol, rows in warmups.items():
        kept = [c for c in service.aggregator.history(symbol) if c.source.value == "warmup"]
        assert [c.to_kline_row() for c in kept] == rows[-len(kept) :]
    # The trades are exactly those the pipeline consumed, in its order (stream and backfill).
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ticks = [recorded_tick(e) for e in events if e["e"] in ("trade", "aggTrade")]
        recorded = [t for t in ticks if t is not None and t.symbol == symbol]
        seen = service.tick_store.latest(symbol)
        assert len(seen) >= 10
        assert recorded[-len(seen) :] == seen
        stream = [e for e in events if e["e"] == "trade" and e["s"] == symbol and "r" in e]
        assert all(e["r"] > 0 and "bf" not in e for e in stream)
