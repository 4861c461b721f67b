"""One server-time offset for the whole service.

Binance refuses a signed request whose timestamp is outside recvWindow of its own clock
(-1021). python-binance stamps signed requests with wall time + `client.timestamp_offset`;
the service's `SystemClock` reads wall time + `offset_ms`. Both are set here, from one
measurement (at start, periodically, and after a -1021), so market time and signatures agree.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.clock import Clock, SystemClock
from execution.errors import classify

log = logging.getLogger(__name__)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ServerTime:
    """Measures server time − local time and hands it to the client and the clock."""

    def __init__(self, client: Any, clock: Clock | None = None) -> None:
        self._client = client
        self._clock = clock
        self.offset_ms: int | None = None

    async def sync(self) -> int:
        """Measure the offset at the request's midpoint; raises a typed ExchangeError."""
        before = _wall_ms()
        try:
            answer = await self._client.get_server_time()
        except Exception as exc:
            raise classify(exc) from None
        after = _wall_ms()
        offset = int(answer["serverTime"]) - (before + after) // 2
        self._client.timestamp_offset = offset
        if isinstance(self._clock, SystemClock):
            self._clock.offset_ms = offset
        if self.offset_ms is None or abs(offset - self.offset_ms) > 500:
            log.info("server time offset %+d ms", offset)
        self.offset_ms = offset
        return offset
