"""Once only: send a request that creates an order, and learn for sure what became of it.

The same loop serves MARKET orders and the stops that rest on the exchange. An unknown
outcome stays unknown until the exchange answers about this client order id: found is its
state; -2013 (absent) is the only answer that lets the same id go again. A lookup that fails
(-1021, 5xx, 429, a time-out, a failed time resync, any other error) proves nothing: look
again, with capped backoff. How each error is met is in execution.errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from execution.errors import (
    DuplicateOrderError,
    ExchangeError,
    OrderNotExecutedError,
    OrderRejectedError,
    RateLimitedError,
    TimestampError,
    classify,
)
from execution.risk import RiskManager

log = logging.getLogger(__name__)
T = TypeVar("T")
# -1021 on the placement itself means the request was refused before it was processed: after
# this many (each after a time resync) the order is recorded as rejected with that code.
PLACEMENT_CLOCK_RETRIES = 3


class OnceOnly:
    """Sends through `place`, looks up through `look`; pauses with the risk manager."""

    def __init__(
        self,
        risk: RiskManager,
        resync_time: Callable[[], Awaitable[None]],
        backoff_s: float = 0.05,
        backoff_max_s: float = 2.0,
    ) -> None:
        self._risk = risk
        self._resync_time = resync_time
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s

    async def send(
        self,
        client_order_id: str,
        place: Callable[[], Awaitable[T]],
        look: Callable[[], Awaitable[T | None]],
    ) -> T | ExchangeError:
        """What the exchange made of the order: `place`'s or `look`'s answer, or the error
        that refused it (then nothing was executed)."""
        lookup = False
        clock_refusals = 0
        delay = self._backoff_s
        while True:
            await self._risk.wait_until_allowed()
            try:
                if lookup:
                    found = await look()
                    if found is not None:
                        return found
                    lookup = False  # confirmed absent: the same id may be sent again
                    continue
                return await place()
            except Exception as raw:
                err = classify(raw)
            if isinstance(err, OrderNotExecutedError):
                return err  # the exchange answered about this id: nothing was executed
            if isinstance(err, DuplicateOrderError):
                lookup = True
                continue
            if isinstance(err, RateLimitedError):
                log.warning("rate limited: pausing %.1fs (%s)", err.retry_after_s, err)
                self._risk.pause(err.retry_after_s)
                lookup = True  # refused, but a lookup is the safe way back
                continue
            if isinstance(err, TimestampError):
                if not lookup:
                    clock_refusals += 1
                    if clock_refusals > PLACEMENT_CLOCK_RETRIES:
                        return err  # refused unprocessed each time: nothing was executed
                await self.resync(client_order_id)
                continue
            if isinstance(err, OrderRejectedError) and not lookup:
                return err  # the exchange refused the order itself
            log.warning(
                "order %s: %s; %s", client_order_id, err,
                "looking it up again" if lookup else "looking it up",
            )  # fmt: skip
            lookup = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max_s)

    async def resync(self, client_order_id: str) -> None:
        """Refresh the server-time offset after -1021; a failure is logged, never raised."""
        try:
            await self._resync_time()
        except Exception as raw:
            log.warning(
                "order %s: server time resync failed (%s); retrying", client_order_id, classify(raw)
            )
            await asyncio.sleep(self._backoff_s)
