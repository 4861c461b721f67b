"""A clock that follows one served over HTTP: the standalone simulator's `GET /sim/clock`.

A service pointed at a simulator in another process (`main.py --simulate-url`) must keep market
time with it: the simulator runs `speed` times faster than real time and outlives the service's
restarts. The clock keeps an affine model, `now = sample_ms + (monotonic - sample_at) * speed`,
anchored at the middle of the last sample's request, and `follow()` resamples it periodically.
It never runs backwards: after a sample that would move it back, it holds until the model
catches up.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from core.clock import LoopTimers

log = logging.getLogger(__name__)

FOLLOW_INTERVAL_S = 5.0  # real seconds between two samples
SAMPLE_TIMEOUT_S = 2.0


class ClockUnavailableError(RuntimeError):
    """The remote clock could not be read (unreachable, not a clock, or a bad answer)."""


class RemoteClock(LoopTimers):
    """Market time in epoch ms from `url` (JSON `{"now_ms": int, "speed": float}`)."""

    def __init__(self, url: str, timeout_s: float = SAMPLE_TIMEOUT_S) -> None:
        super().__init__()  # timers on this clock (core.clock.LoopTimers)
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._sample_ms: int | None = None
        self._sample_at = 0.0  # time.monotonic() of the sample
        self._speed = 1.0
        self._floor = 0  # the latest time handed out: the clock never shows less
        self.samples = 0

    @classmethod
    async def connect(cls, url: str, timeout_s: float = SAMPLE_TIMEOUT_S) -> RemoteClock:
        """A clock anchored at its first sample; raises ClockUnavailableError."""
        clock = cls(url, timeout_s)
        try:
            await clock.sync()
        except BaseException:
            await clock.close()
            raise
        return clock

    @property
    def speed(self) -> float:
        """Market seconds per real second, as the remote clock reported it."""
        return self._speed

    def now_ms(self) -> int:
        if self._sample_ms is None:
            raise ClockUnavailableError(f"the clock at {self.url} was never sampled")
        model = self._sample_ms + int((time.monotonic() - self._sample_at) * 1000 * self._speed)
        if model > self._floor:
            self._floor = model
        return self._floor

    async def sleep(self, market_seconds: float) -> None:
        await asyncio.sleep(max(0.0, market_seconds) / self._speed)

    async def sync(self) -> None:
        """Take one sample and re-anchor the model on it."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        before = time.monotonic()
        try:
            async with self._session.get(self.url) as resp:
                resp.raise_for_status()
                body = await resp.json()
            now_ms, speed = int(body["now_ms"]), float(body["speed"])
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            raise ClockUnavailableError(f"cannot read the clock at {self.url}: {exc!r}") from exc
        if speed <= 0:
            raise ClockUnavailableError(f"the clock at {self.url} reports speed {speed}")
        self._sample_at = (before + time.monotonic()) / 2
        self._sample_ms, self._speed = now_ms, speed
        self.samples += 1

    async def follow(self, interval_s: float = FOLLOW_INTERVAL_S) -> None:
        """Resample every `interval_s` real seconds until cancelled; a failed sample keeps the
        current model (logged)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sync()
            except ClockUnavailableError as exc:
                log.warning("clock resample failed (%s); keeping the last model", exc)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
