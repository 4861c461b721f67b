"""The service against the simulator: server-time offset sync (live clock) and --record."""

from __future__ import annotations

from pathlib import Path

from binance import AsyncClient

from api.app import create_app
from backtest.recorder import Recorder, read_recording
from core.clock import SystemClock
from service.container import Service
from simulator import Simulator, SimulatorConfig
from tests.api import support


async def test_live_clock_takes_the_server_time_offset(tmp_path: Path) -> None:
    # The simulator's market clock starts at the last whole minute: it lags the wall clock.
    config = SimulatorConfig(seed=5, speed=1.0, api_key=support.KEY, api_secret=support.SECRET)
    async with Simulator(config) as sim:
        client = AsyncClient(None, None, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        clock = SystemClock()
        service = Service(
            support.settings(tmp_path), mode="paper", clock=clock, client=client,
            stream_url=sim.stream_url,
        )  # fmt: skip
        app = create_app(service)
        async with app.router.lifespan_context(app):
            await support.wait_for(lambda: service.trading_ready, what="exchange loaded")
            assert abs(clock.now_ms() - sim.clock.now_ms()) < 250
            assert service.mode == "paper" and service.health().mode == "paper"


async def test_record_writes_every_raw_trade_event(sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl.gz"
    service = support.simulated_service(sim, support.settings(tmp_path))
    client = service.client
    service = Service(
        service.settings, mode="simulated", clock=sim.clock, client=client,
        stream_url=sim.stream_url, recorder=Recorder(path), speed=support.SPEED,
    )  # fmt: skip
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="live")
        await support.wait_for(lambda: len(service.tick_store.latest("BTCUSDT")) >= 20)
    events = [event for _, event in read_recording(path)]
    assert events and all(e["e"] == "trade" for e in events)
    recorded = {(e["s"], e["t"]) for e in events}
    seen = {
        (t.symbol, t.trade_id) for s in ("BTCUSDT", "ETHUSDT") for t in service.tick_store.latest(s)
    }
    last = {s: max(i for sym, i in seen if sym == s) for s in ("BTCUSDT", "ETHUSDT")}
    # Every recorded stream trade reached the pipeline (those at the start may have come by
    # REST backfill first, so not every tick the service took is a recorded stream frame).
    assert len(recorded) >= 10
    assert {(s, i) for s, i in recorded if i <= last[s]} <= seen
