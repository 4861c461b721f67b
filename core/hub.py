"""One in-process hub: components publish events, subscribers (WebSocket clients) read them.

Publishing never waits (invariant 5): each subscriber has a bounded queue, and a subscriber whose
queue is full is marked `overflowed` and dropped from the hub; its owner (the WebSocket handler)
sees `overflowed.is_set()` and closes the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Event kinds, as they appear in the WebSocket `type` field.
CANDLE = "candle"
CANDLE_UPDATE = "candle_update"
TICK = "tick"
SIGNAL = "signal"
ORDER = "order"
TRADE = "trade"
POSITION = "position"
STATUS = "status"
ERROR = "error"
EVENT_KINDS = frozenset(
    {CANDLE, CANDLE_UPDATE, TICK, SIGNAL, ORDER, TRADE, POSITION, STATUS, ERROR}
)


@dataclass(slots=True)
class Event:
    """Something that happened. `data` is a domain object or a JSON-ready dict; `symbol` filters."""

    kind: str
    data: Any
    symbol: str | None = None
    ts_ms: int = 0
    # Serialised once, lazily, by whoever first needs the wire form (shared by all subscribers).
    encoded: bytes | None = None


@dataclass(eq=False)
class Subscriber:
    """One consumer's bounded queue and what it wants to see."""

    queue: asyncio.Queue[Event]
    kinds: set[str] = field(default_factory=lambda: set(EVENT_KINDS - {TICK}))
    symbols: set[str] | None = None  # None means every symbol
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, event: Event) -> bool:
        if event.kind not in self.kinds:
            return False
        return self.symbols is None or event.symbol is None or event.symbol in self.symbols


class Hub:
    """Fan-out of events to subscribers without ever blocking the publisher."""

    def __init__(self, on_overflow: Callable[[Subscriber], None] | None = None) -> None:
        self._subscribers: set[Subscriber] = set()
        self._on_overflow = on_overflow
        self.dropped_subscribers = 0

    def subscribe(self, maxsize: int = 1000) -> Subscriber:
        sub = Subscriber(queue=asyncio.Queue(maxsize=maxsize))
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def wanted(self, kind: str) -> bool:
        """Cheap check before building an event nobody would read (ticks)."""
        return any(kind in sub.kinds for sub in self._subscribers)

    def publish(self, event: Event) -> None:
        overflowed: list[Subscriber] = []
        for sub in self._subscribers:
            if not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                overflowed.append(sub)
        for sub in overflowed:
            self._subscribers.discard(sub)
            self.dropped_subscribers += 1
            sub.overflowed.set()
            if self._on_overflow is not None:
                self._on_overflow(sub)
