"""python-binance's AsyncClient with signed timestamps on the service's injected clock.

python-binance stamps a signed request with wall time + `timestamp_offset`, and whoever
measures the server time (execution.server_time.ServerTime) sets that offset as server time −
wall time. Against a simulator that runs `speed` times faster than real time, wall time falls
behind market time by (speed − 1) ms every real ms, so such a stamp leaves the recvWindow within
seconds and every signed request after that meets -1021 first. This client keeps the offset
relative to its clock instead: setting it stores server time − clock time, reading it gives
(clock − wall) + (server − clock), so the stamp is clock time + the last measured server offset.
"""

from __future__ import annotations

import time
from typing import Any

from binance import AsyncClient

from core.clock import Clock


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ClockedClient(AsyncClient):  # type: ignore[misc]  # python-binance ships no types
    """An AsyncClient whose signatures follow `clock` (plus the measured server offset)."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        self._clock = clock
        self._server_minus_clock = 0
        super().__init__(*args, **kwargs)
        self._server_minus_clock = 0  # until a measurement: the server's time is the clock's

    @property
    def timestamp_offset(self) -> int:
        """What python-binance adds to wall time: clock − wall + (server − clock)."""
        return self._clock.now_ms() - _wall_ms() + self._server_minus_clock

    @timestamp_offset.setter
    def timestamp_offset(self, value: int) -> None:
        # `value` is server − wall (python-binance's meaning): keep it as server − clock.
        self._server_minus_clock = int(value) + _wall_ms() - self._clock.now_ms()
