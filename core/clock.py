"""Injected clocks, with timers on them. No component reads wall time for market time.

- `SystemClock`: real time corrected by the exchange's server-time offset (live).
- `SimulatedClock`: the market time of another clock (the simulator's), which runs `speed`
  times faster than real time (`--speed 60`: a market minute passes in a real second).
- `ManualClock`: moved by hand (tests) or by the data itself (replays and backtests).

Timers live on the clock (as nautilus_trader's `set_timer` on its live and test clocks), so a
candle closes the same way live, in a backtest and in a test: `set_timer(name, interval_ms,
callback, start_ms)` calls `callback(fire_ms)` at `start_ms`, `start_ms + interval_ms`, ... in
market time. The live clocks schedule each firing on the event loop; the manual clock fires
every timer that is due, in time order, while it is moved (`set` / `advance`), with its time set
to the firing instant during the call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, Protocol

MINUTE_MS: Final = 60_000

TimerCallback = Callable[[int], None]  # receives the instant (market ms) it was due


class Clock(Protocol):
    """Market time in epoch milliseconds, a sleep measured in market seconds, and timers."""

    def now_ms(self) -> int: ...

    async def sleep(self, market_seconds: float) -> None: ...

    def set_timer(
        self, name: str, interval_ms: int, callback: TimerCallback, start_ms: int | None = None
    ) -> None: ...

    def cancel_timer(self, name: str) -> None: ...


class _Timer:
    __slots__ = ("callback", "handle", "interval_ms", "name", "next_ms")

    def __init__(self, name: str, interval_ms: int, callback: TimerCallback, next_ms: int) -> None:
        if interval_ms <= 0:
            raise ValueError("a timer's interval must be positive")
        self.name = name
        self.interval_ms = interval_ms
        self.callback = callback
        self.next_ms = next_ms
        self.handle: asyncio.TimerHandle | None = None


class LoopTimers:
    """Timers of a clock that follows real time, scheduled on the running event loop.

    Each firing is re-checked against `now_ms()` when the loop wakes it (the clock may have
    been corrected meanwhile: a new server-time offset, a simulator not started yet); an
    interval missed entirely (the loop was blocked) is skipped, not fired twice.
    """

    def __init__(self) -> None:
        self._timers: dict[str, _Timer] = {}

    @property
    def speed(self) -> float:
        """Market milliseconds per real millisecond."""
        return 1.0

    def now_ms(self) -> int:
        raise NotImplementedError

    def set_timer(
        self, name: str, interval_ms: int, callback: TimerCallback, start_ms: int | None = None
    ) -> None:
        """Replace any timer called `name`; the first firing is at `start_ms` (default: one
        interval from now)."""
        self.cancel_timer(name)
        first = self.now_ms() + interval_ms if start_ms is None else start_ms
        timer = self._timers[name] = _Timer(name, interval_ms, callback, first)
        self._schedule(timer)

    def cancel_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None and timer.handle is not None:
            timer.handle.cancel()

    def timer_names(self) -> list[str]:
        return list(self._timers)

    def _schedule(self, timer: _Timer) -> None:
        delay_s = max(0.0, (timer.next_ms - self.now_ms()) / 1000 / self.speed)
        timer.handle = asyncio.get_running_loop().call_later(delay_s, self._wake, timer)

    def _wake(self, timer: _Timer) -> None:
        if self._timers.get(timer.name) is not timer:
            return  # cancelled or replaced
        now = self.now_ms()
        due = timer.next_ms
        if now < due:
            self._schedule(timer)  # the clock is behind the loop's estimate: wait the rest
            return
        timer.next_ms = due + ((now - due) // timer.interval_ms + 1) * timer.interval_ms
        self._schedule(timer)
        timer.callback(due)


class SystemClock(LoopTimers):
    """Wall time plus `offset_ms` (server time minus local time, refreshed from /api/v3/time)."""

    def __init__(self, offset_ms: int = 0) -> None:
        super().__init__()
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(market_seconds)


class SimulatedClock(LoopTimers):
    """The market time of `source` (the simulator's clock), `speed` market ms per real ms."""

    def __init__(self, source: Callable[[], int], speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        super().__init__()
        self._source = source
        self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        return self._source()

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(max(0.0, market_seconds) / self.speed)


class ManualClock:
    """A clock that only moves when told to; `sleep` yields to the loop and returns."""

    def __init__(self, now_ms: int = 0) -> None:
        self._now_ms = now_ms
        self._timers: dict[str, _Timer] = {}
        self._next_due: float = float("inf")  # the earliest timer's next firing

    def now_ms(self) -> int:
        return self._now_ms

    def set(self, now_ms: int) -> None:
        """Move to `now_ms`, firing the timers due on the way; a clock never runs backwards,
        so an earlier instant is ignored."""
        if now_ms > self._now_ms:
            if now_ms >= self._next_due:
                self._fire_until(now_ms)
            self._now_ms = now_ms

    def advance(self, ms: int) -> None:
        self.set(self._now_ms + ms)

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(0)

    def set_timer(
        self, name: str, interval_ms: int, callback: TimerCallback, start_ms: int | None = None
    ) -> None:
        """As the live clocks' `set_timer`; a first firing at or before now waits for the
        next move of the clock."""
        first = self._now_ms + interval_ms if start_ms is None else start_ms
        self._timers[name] = _Timer(name, interval_ms, callback, first)
        self._next_due = min(t.next_ms for t in self._timers.values())

    def cancel_timer(self, name: str) -> None:
        self._timers.pop(name, None)
        self._next_due = min((t.next_ms for t in self._timers.values()), default=float("inf"))

    def timer_names(self) -> list[str]:
        return list(self._timers)

    def _fire_until(self, until_ms: int) -> None:
        while self._timers:
            timer = min(self._timers.values(), key=lambda t: t.next_ms)
            if timer.next_ms > until_ms:
                break
            due = timer.next_ms
            timer.next_ms = due + timer.interval_ms
            self._now_ms = max(self._now_ms, due)
            timer.callback(due)
        self._next_due = min((t.next_ms for t in self._timers.values()), default=float("inf"))
