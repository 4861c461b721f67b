"""A replay tells variants apart by their strategy and interval too: the header the service
writes names each variant's spec, and a replay with variants that differ only in strategy (or
interval) warns that its signals will differ. Older headers (four fields) still compare."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
from binance import AsyncClient

from api.app import create_app
from backtest.run import BacktestConfig
from backtest.runner import run_backtest
from config import Settings
from core.clock import SimulatedClock
from core.variants import parse_variants
from recording.format import HEADER, read_recording
from recording.recorder import Recorder
from simulator import Simulator, SimulatorConfig
from tests.api import support
from wiring.compose import build_service

WARNING = "signals will differ"


async def record(tmp_path: Path, settings: Settings) -> Path:
    """A short recording made by the service against the simulator (`--record`)."""
    config = SimulatorConfig(
        seed=5, speed=120.0, symbols=("BTCUSDT",), api_key=support.KEY, api_secret=support.SECRET
    )
    path = tmp_path / "run.rec.gz"
    async with Simulator(config) as sim:
        client = AsyncClient(support.KEY, support.SECRET, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        service = build_service(
            settings, mode="simulated", clock=SimulatedClock(sim.clock.now_ms, config.speed),
            client=client, stream_url=sim.stream_url, recorder=Recorder(path),
            speed=config.speed,
        )  # fmt: skip
        app = create_app(service)
        async with app.router.lifespan_context(app):
            await support.wait_for(lambda: support.is_live(service), what="service live")
    return path


async def replayed_with(
    settings: Settings, path: Path, variants: str, caplog: pytest.LogCaptureFixture
) -> bool:
    """Replay `path` with `variants`; whether it warned that the variants differ."""
    caplog.clear()
    config = BacktestConfig(
        [path], parse_variants(variants, ema_default=5, sma_default=10), settings.paper_fee_rate
    )
    await run_backtest(settings, config)
    return WARNING in caplog.text


@pytest.mark.e2e
async def test_variants_differing_only_in_strategy_or_interval_are_told_apart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = support.settings(tmp_path, symbols="BTCUSDT", variants="A:0.15,B:0.10")
    path = await record(tmp_path, settings)
    header = next(event for _, event in read_recording(path) if event["e"] == HEADER)
    assert header["variants"] == [
        ["A", "0.15", 5, 10, "ema_sma(ema_period=5,sma_period=10)@1m"],
        ["B", "0.10", 5, 10, "ema_sma(ema_period=5,sma_period=10)@1m"],
    ]
    caplog.set_level(logging.WARNING)
    replay = settings.journal_path.with_name("replay.jsonl")
    settings = support.settings(tmp_path, symbols="BTCUSDT", journal_path=replay)

    assert not await replayed_with(settings, path, "A:0.15,B:0.10", caplog)
    # Name, stop-loss and EMA/SMA periods equal (all the old header compared): still told apart.
    assert await replayed_with(settings, path, "A:0.15:rsi,B:0.10", caplog)
    assert "rsi(period=14,oversold=30.0,overbought=70.0)@1m" in caplog.text
    assert await replayed_with(settings, path, "A:0.15,B:0.10:bollinger", caplog)
    assert await replayed_with(settings, path, "A:0.15,B:0.10@5m", caplog)
    assert await replayed_with(settings, path, "A:0.15:4:10,B:0.10", caplog)

    # A header written before the spec (four fields) is compared on what both have.
    old = tmp_path / "old.rec.jsonl"
    lines = []
    for _, event in read_recording(path):
        if event["e"] == HEADER:
            event = {**event, "variants": [v[:4] for v in event["variants"]]}
        lines.append(orjson.dumps(event))
    old.write_bytes(b"\n".join(lines) + b"\n")
    assert not await replayed_with(settings, old, "A:0.15,B:0.10", caplog)
    assert await replayed_with(settings, old, "A:0.20,B:0.10", caplog)
