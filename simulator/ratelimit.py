"""Request weight per client IP and real-time minute, as Binance's X-MBX-USED-WEIGHT-1M.

Over the limit a request gets HTTP 429; a client that goes on sending after REPEATED_429
of them within the minute is banned (HTTP 418) for BAN_S real seconds, as Binance does with
"repeatedly violating rate limits" (its bans scale from 2 minutes; here always 2 minutes).
"""

from __future__ import annotations

import time

from simulator import errors

REPEATED_429 = 5
BAN_S = 120


class WeightMeter:
    """Counts weight per (IP, wall-clock minute); over the limit a request gets HTTP 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._minute = -1
        self._used: dict[str, int] = {}
        self._rejected: dict[str, int] = {}  # 429s this minute
        self._banned_until: dict[str, float] = {}

    def _roll(self) -> None:
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute = minute
            self._used.clear()
            self._rejected.clear()

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

    def check(self, client: str, used: int) -> None:
        """Raises 418 for a banned client, 429 over the limit (and bans after repeated 429s)."""
        now = time.time()
        until = self._banned_until.get(client, 0.0)
        if until > now:
            raise _banned(until)
        if used <= self.limit:
            return
        rejected = self._rejected.get(client, 0) + 1
        self._rejected[client] = rejected
        if rejected > REPEATED_429:
            self._banned_until[client] = now + BAN_S
            raise _banned(now + BAN_S)
        raise errors.too_much_weight(self.limit, self.retry_after_s())


def _banned(until: float) -> errors.ApiError:
    return errors.ApiError(
        418,
        -1003,
        f"Way too much request weight used; IP banned until {int(until * 1000)}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        {"Retry-After": str(max(1, int(until - time.time())))},
    )
