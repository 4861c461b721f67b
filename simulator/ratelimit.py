"""Request weight per client IP and real-time minute, as Binance's X-MBX-USED-WEIGHT-1M."""

from __future__ import annotations

import time


class WeightMeter:
    """Counts weight per (IP, wall-clock minute); over the limit a request gets HTTP 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._minute = -1
        self._used: dict[str, int] = {}

    def _roll(self) -> None:
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute = minute
            self._used.clear()

    def charge(self, client: str, weight: int) -> int:
        """Adds `weight` and returns the weight used this minute (including it)."""
        self._roll()
        used = self._used.get(client, 0) + weight
        self._used[client] = used
        return used

    def used(self, client: str) -> int:
        self._roll()
        return self._used.get(client, 0)

    @staticmethod
    def retry_after_s() -> int:
        """Seconds until the weight resets (the next real minute)."""
        return max(1, 60 - int(time.time() % 60))
