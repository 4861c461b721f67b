"""Injected clocks. No component reads wall time for market time; it asks its clock.

- `SystemClock`: real time corrected by the exchange's server-time offset (live).
- `ScaledClock`: a clock that runs `speed` times faster than real time from a start instant
  (the simulator's clock, so `--speed 60` makes a market minute pass in a real second).
- `ManualClock`: moved by hand (tests) or by the data itself (replays and backtests).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Market time in epoch milliseconds, and a sleep measured in market seconds."""

    def now_ms(self) -> int: ...

    async def sleep(self, market_seconds: float) -> None: ...


class SystemClock:
    """Wall time plus `offset_ms` (server time minus local time, refreshed from /api/v3/time)."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(market_seconds)


class ScaledClock:
    """Starts at `start_ms` and advances `speed` market milliseconds per real millisecond."""

    def __init__(self, start_ms: int, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start_ms = start_ms
        self.speed = speed
        self._anchor = time.monotonic()

    def now_ms(self) -> int:
        return self.start_ms + int((time.monotonic() - self._anchor) * 1000 * self.speed)

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(market_seconds / self.speed)


class ManualClock:
    """A clock that only moves when told to; `sleep` yields to the loop and returns."""

    def __init__(self, now_ms: int = 0) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        return self._now_ms

    def set(self, now_ms: int) -> None:
        """Move to `now_ms`; a clock never runs backwards, so an earlier instant is ignored."""
        self._now_ms = max(self._now_ms, now_ms)

    def advance(self, ms: int) -> None:
        self._now_ms += ms

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(0)
