"""Unfilled order count per account: the ORDERS rate limits (10 s and 1 day).

They count market time (the simulator's clock), so a run at `--speed 600` meets them as the
same strategy would live: its orders are 600 times closer together in real time, not more
frequent in the market.

Every placed order counts (a filled order does not give its count back here: Binance's
decrement rules are not modelled). Over a limit, a new order gets HTTP 429 / -1015.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from simulator import errors


class OrderCounter:
    def __init__(
        self, per_10s: int = 50, per_day: int = 160_000, now: Callable[[], float] = time.time
    ) -> None:
        self._now = now  # seconds
        self.limits = (("SECOND", 10, per_10s), ("DAY", 1, per_day))  # interval, num, limit
        self._recent: dict[str, deque[float]] = {}
        self._day: dict[str, tuple[int, int]] = {}

    def _trim(self, api_key: str, now: float) -> deque[float]:
        recent = self._recent.setdefault(api_key, deque())
        while recent and recent[0] <= now - 10:
            recent.popleft()
        return recent

    def counts(self, api_key: str) -> tuple[int, int]:
        """Orders placed in the last 10 s and today (UTC), on the counter's clock."""
        now = self._now()
        day, count = self._day.get(api_key, (int(now // 86_400), 0))
        today = count if day == int(now // 86_400) else 0
        return len(self._trim(api_key, now)), today

    def record(self, api_key: str) -> None:
        now = self._now()
        self._trim(api_key, now).append(now)
        day = int(now // 86_400)
        last_day, count = self._day.get(api_key, (day, 0))
        self._day[api_key] = (day, count + 1 if last_day == day else 1)

    def check(self, api_key: str, new_orders: int = 1) -> None:
        ten_s, day = self.counts(api_key)
        for (interval, num, limit), used in zip(self.limits, (ten_s, day), strict=True):
            if used + new_orders > limit:
                retry = 10 if interval == "SECOND" else 86_400 - int(self._now()) % 86_400
                raise errors.ApiError(
                    429,
                    -1015,
                    f"Too many new orders; current limit is {limit} orders per {num} {interval}.",
                    {"Retry-After": str(max(1, retry))},
                )

    def headers(self, api_key: str) -> dict[str, str]:
        ten_s, day = self.counts(api_key)
        return {"X-MBX-ORDER-COUNT-10S": str(ten_s), "X-MBX-ORDER-COUNT-1D": str(day)}

    def rate_limits(self, api_key: str) -> list[dict[str, object]]:
        """GET /api/v3/rateLimit/order."""
        used = self.counts(api_key)
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": interval,
                "intervalNum": num,
                "limit": limit,
                "count": count,
            }
            for (interval, num, limit), count in zip(self.limits, used, strict=True)
        ]
