"""The simulator's market clock: `speed` market milliseconds per real millisecond."""

from __future__ import annotations

import asyncio
import time


class MarketClock:
    """Stands still at `start_ms` until `run()`; then advances `speed` times faster than real time.

    Every timestamp the simulator sends follows this clock (trade times, event times, klines,
    /api/v3/time, transactTime).
    """

    def __init__(self, start_ms: int, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start_ms = start_ms
        self.speed = speed
        self._anchor: float | None = None

    def run(self) -> None:
        if self._anchor is None:
            self._anchor = time.monotonic()

    def now_ms(self) -> int:
        if self._anchor is None:
            return self.start_ms
        return self.start_ms + int((time.monotonic() - self._anchor) * 1000 * self.speed)

    def real_seconds_until(self, market_ms: int) -> float:
        """Real seconds until the clock shows `market_ms` (0 if it already has)."""
        return max(0.0, (market_ms - self.now_ms()) / 1000 / self.speed)

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(max(0.0, market_seconds) / self.speed)
