"""Orders by outcome and signal-to-outcome latency, read from the executor's `order` events.

The pipeline notes when it submits a signal; the executor serialises each (variant, symbol), so
that pair's next `order` event is the outcome of its oldest submitted signal.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from core.hub import ORDER, Hub, Subscriber
from execution.models import OrderRecord, OrderStatus
from pipeline.metrics import ServiceMetrics

QUEUE = 10_000


class OrderMetrics:
    def __init__(self, hub: Hub, metrics: ServiceMetrics) -> None:
        self._hub = hub
        self._metrics = metrics
        self._pending: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._sub: Subscriber | None = None

    def submitted(self, variant: str, symbol: str) -> None:
        self._pending[(variant, symbol)].append(time.monotonic())

    def _subscribe(self) -> Subscriber:
        sub = self._hub.subscribe(maxsize=QUEUE)
        sub.kinds = {ORDER}
        return sub

    async def run(self) -> None:
        """Count every `order` event (owned by the service's TaskOwner)."""
        sub = self._sub = self._subscribe()
        try:
            while True:
                if sub.overflowed.is_set():  # we fell behind: counts are lost, keep going
                    sub = self._sub = self._subscribe()
                event = await sub.queue.get()
                self.observe(event.data)
        finally:
            self._hub.unsubscribe(sub)

    def observe(self, data: object) -> None:
        if not isinstance(data, OrderRecord):
            return
        outcome = data.status.value
        self._metrics.orders.labels(outcome).inc()
        pending = self._pending.get((data.variant, data.symbol))
        if pending and data.status is not OrderStatus.INTENT:
            self._metrics.order_latency.observe(time.monotonic() - pending.popleft())
