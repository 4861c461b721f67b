"""The shared pieces: clocks, the non-blocking hub, and task ownership."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from core.clock import ManualClock, SimulatedClock, SystemClock
from core.hub import CANDLE, SIGNAL, TICK, Event, Hub
from core.tasks import TaskOwner


async def test_simulated_clock_sleeps_in_market_seconds() -> None:
    source = ManualClock(1_000_000)
    clock = SimulatedClock(source.now_ms, speed=600.0)
    loop = asyncio.get_running_loop()
    start = loop.time()

    await clock.sleep(6.0)  # six market seconds = 10 ms of real time

    assert clock.now_ms() == 1_000_000  # it reads its source
    assert loop.time() - start < 1.0


def test_simulated_clock_rejects_a_non_positive_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        SimulatedClock(lambda: 0, speed=0)


def test_manual_clock_fires_due_timers_in_time_order_as_it_moves() -> None:
    clock = ManualClock(now_ms=0)
    fired: list[tuple[str, int, int]] = []

    def note(name: str) -> Callable[[int], None]:
        return lambda due: fired.append((name, due, clock.now_ms()))

    clock.set_timer("minute", 60_000, note("minute"), start_ms=2_000)
    clock.set_timer("ten", 10_000, note("ten"))
    clock.set(25_000)
    assert fired == [("minute", 2_000, 2_000), ("ten", 10_000, 10_000), ("ten", 20_000, 20_000)]
    assert clock.now_ms() == 25_000

    fired.clear()
    clock.cancel_timer("ten")
    clock.advance(100_000)
    assert fired == [("minute", 62_000, 62_000), ("minute", 122_000, 122_000)]
    assert clock.timer_names() == ["minute"]


def test_manual_clock_replaces_a_timer_of_the_same_name() -> None:
    clock = ManualClock(now_ms=0)
    fired: list[int] = []
    clock.set_timer("t", 1_000, lambda due: fired.append(-due))
    clock.set_timer("t", 1_000, fired.append)
    clock.set(2_500)
    assert fired == [1_000, 2_000]


async def test_live_clock_fires_its_timer_on_the_loop_in_market_time() -> None:
    loop = asyncio.get_running_loop()
    origin = loop.time()
    speed = 1000.0  # 1 ms real = 1 market second

    def market_ms() -> int:  # a market running `speed` times real time from 1,000 ms
        return 1_000 + int((loop.time() - origin) * 1000 * speed)

    clock = SimulatedClock(market_ms, speed=speed)
    fired: list[tuple[int, int]] = []
    done = asyncio.Event()

    def on_fire(due: int) -> None:
        fired.append((due, clock.now_ms()))
        if len(fired) == 3:
            done.set()

    clock.set_timer("t", 5_000, on_fire, start_ms=6_000)
    await asyncio.wait_for(done.wait(), 5)
    clock.cancel_timer("t")
    assert [due for due, _ in fired[:3]] == [6_000, 11_000, 16_000]
    assert all(now >= due for due, now in fired)  # never early in market time
    assert clock.timer_names() == []


async def test_live_clock_waits_while_its_source_stands_still() -> None:
    source = ManualClock(0)
    clock = SimulatedClock(source.now_ms, speed=100_000.0)
    fired: list[int] = []
    clock.set_timer("t", 60_000, fired.append, start_ms=60_000)
    for _ in range(20):
        await asyncio.sleep(0.001)
    assert fired == []  # the loop woke it early: it re-checked the clock and waits
    source.set(60_000)
    for _ in range(200):
        if fired:
            break
        await asyncio.sleep(0.001)
    clock.cancel_timer("t")
    assert fired == [60_000]


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
    btc_only.kinds |= {TICK}
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
