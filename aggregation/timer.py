"""The close timer: sleeps on the injected clock until the next close deadline."""

from __future__ import annotations

import asyncio

from aggregation.aggregator import CandleAggregator
from aggregation.rules import IDLE_POLL_S
from core.clock import Clock


async def run_close_timer(
    aggregator: CandleAggregator,
    clock: Clock,
    stop: asyncio.Event | None = None,
    idle_poll_s: float = IDLE_POLL_S,
) -> None:
    """Call `aggregator.close_due(now)` at each deadline until `stop` is set or cancelled.

    Deadlines are in market time (the clock's); when nothing is due (no symbol yet, or all
    held) it polls every `idle_poll_s` market seconds. Owned by the wiring (a TaskOwner).
    """
    while stop is None or not stop.is_set():
        now = clock.now_ms()
        deadline = aggregator.next_deadline_ms()
        if deadline is not None and deadline <= now:
            aggregator.close_due(now)
            await asyncio.sleep(0)
            continue
        wait_s = idle_poll_s if deadline is None else min(idle_poll_s, (deadline - now) / 1000)
        await clock.sleep(max(wait_s, 0.001))
