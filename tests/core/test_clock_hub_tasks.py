"""The shared pieces: clocks, the non-blocking hub, and task ownership."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.clock import ManualClock, ScaledClock, SystemClock
from core.hub import CANDLE, SIGNAL, TICK, Event, Hub
from core.tasks import TaskOwner


async def test_scaled_clock_runs_speed_times_faster() -> None:
    clock = ScaledClock(start_ms=1_000_000, speed=600.0)
    before = clock.now_ms()

    await clock.sleep(6.0)  # six market seconds = 10 ms of real time

    elapsed = clock.now_ms() - before
    assert 6_000 <= elapsed < 60_000


def test_scaled_clock_rejects_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(start_ms=0, speed=0)


def test_system_clock_applies_the_server_offset() -> None:
    plain, shifted = SystemClock(), SystemClock(offset_ms=-5_000)

    assert 4_900 <= plain.now_ms() - shifted.now_ms() <= 5_100


def test_manual_clock_never_runs_backwards() -> None:
    clock = ManualClock(now_ms=120_000)

    clock.set(60_000)
    clock.advance(500)

    assert clock.now_ms() == 120_500


async def test_hub_delivers_only_what_a_subscriber_wants() -> None:
    hub = Hub()
    everything = hub.subscribe()
    btc_only = hub.subscribe()
    btc_only.symbols = {"BTCUSDT"}

    hub.publish(Event(CANDLE, {"c": 1}, symbol="BTCUSDT"))
    hub.publish(Event(CANDLE, {"c": 2}, symbol="ETHUSDT"))
    hub.publish(Event(TICK, {"t": 3}, symbol="BTCUSDT"))  # ticks only when asked

    assert [everything.queue.get_nowait().data for _ in range(2)] == [{"c": 1}, {"c": 2}]
    assert everything.queue.empty()
    assert btc_only.queue.get_nowait().data == {"c": 1}
    assert btc_only.queue.empty()
    assert hub.wanted(TICK) is False
    btc_only.kinds.add(TICK)
    assert hub.wanted(TICK) is True


async def test_a_full_subscriber_is_dropped_and_the_others_keep_receiving() -> None:
    dropped: list[object] = []
    hub = Hub(on_overflow=dropped.append)
    slow = hub.subscribe(maxsize=2)
    fast = hub.subscribe(maxsize=100)

    for n in range(5):
        hub.publish(Event(SIGNAL, n))
        fast.queue.get_nowait()

    assert slow.overflowed.is_set()
    assert dropped == [slow]
    assert hub.subscriber_count == 1
    assert hub.dropped_subscribers == 1
    assert fast.queue.empty() and not fast.overflowed.is_set()


async def test_task_owner_logs_failures_and_cancels_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = TaskOwner("test")
    stopped = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async def boom() -> None:
        raise RuntimeError("exploded")

    owner.spawn(forever(), "forever")
    failing = owner.spawn(boom(), "boom")
    with caplog.at_level(logging.ERROR):
        await asyncio.wait([failing])
        await asyncio.sleep(0)

    assert "test:boom failed" in caplog.text
    assert owner.running == 1

    await owner.cancel_all(grace_s=1.0)

    assert stopped.is_set()
    assert owner.running == 0
