"""RemoteClock follows a simulator's GET /sim/clock over loopback (a real simulator)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from core.remote_clock import ClockUnavailableError, RemoteClock
from simulator import Simulator, SimulatorConfig

HOUR_MS = 3_600_000


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(seed=5, speed=600.0, symbols=("BTCUSDT",), history_minutes=1)
    async with Simulator(config) as running:
        yield running


def clock_url(sim: Simulator) -> str:
    return sim.rest_url.removesuffix("/api") + "/sim/clock"


async def connect(sim: Simulator) -> tuple[RemoteClock, int]:
    """The clock and the bound of its sampling error (the simulator's time during the sample)."""
    before = sim.clock.now_ms()
    clock = await RemoteClock.connect(clock_url(sim))
    return clock, sim.clock.now_ms() - before


async def test_it_shows_the_simulators_time_and_speed(sim: Simulator) -> None:
    clock, error = await connect(sim)
    try:
        assert clock.speed == 600.0
        for _ in range(3):
            low = sim.clock.now_ms()
            shown = clock.now_ms()
            high = sim.clock.now_ms()
            assert low - error <= shown <= high + error
            await clock.sleep(30.0)  # 30 market seconds: 50 ms of real time
    finally:
        await clock.close()


async def test_a_resample_follows_a_jump_forward(sim: Simulator) -> None:
    clock, error = await connect(sim)
    try:
        sim.clock.start_ms += HOUR_MS
        assert clock.now_ms() < sim.clock.now_ms() - HOUR_MS // 2  # not seen yet
        before = sim.clock.now_ms()
        await clock.sync()
        error = sim.clock.now_ms() - before
        low = sim.clock.now_ms()
        assert low - error <= clock.now_ms() <= sim.clock.now_ms() + error
        assert clock.samples == 2
    finally:
        await clock.close()


async def test_it_never_runs_backwards_after_a_sample_behind(sim: Simulator) -> None:
    clock, _ = await connect(sim)
    try:
        shown = clock.now_ms()
        sim.clock.start_ms -= HOUR_MS
        await clock.sync()
        assert clock.now_ms() >= shown  # it holds until the model catches up
    finally:
        await clock.close()


async def test_follow_resamples_and_survives_a_lost_simulator(sim: Simulator) -> None:
    clock, _ = await connect(sim)
    task = asyncio.create_task(clock.follow(interval_s=0.01))
    try:
        while clock.samples < 3:
            await asyncio.sleep(0.01)
        await sim.stop()
        with pytest.raises(ClockUnavailableError):
            await clock.sync()
        await asyncio.sleep(0.05)  # the follower keeps running through failed samples
        assert not task.done()
        shown = clock.now_ms()
        await asyncio.sleep(0.01)
        assert clock.now_ms() > shown  # the last model keeps time
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await clock.close()


async def test_an_unreachable_clock_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClockUnavailableError, match=f"127.0.0.1:{port}/sim/clock"):
        await RemoteClock.connect(f"http://127.0.0.1:{port}/sim/clock", timeout_s=1.0)
    with pytest.raises(ClockUnavailableError, match="never sampled"):
        RemoteClock("http://127.0.0.1:1/sim/clock").now_ms()
