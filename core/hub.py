"""One in-process hub: components publish events, subscribers (WebSocket clients) read them.

Publishing never waits (invariant 5): each subscriber has a bounded queue, and a subscriber whose
queue is full is marked `overflowed` and dropped from the hub; its owner (the WebSocket handler)
sees `overflowed.is_set()` and closes the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
PERFORMANCE = "performance"
NOTICE = "notice"  # a notification's event for the page's toasts (service.notices)
# The service's WARNING and ERROR lines (service.log_feed): not a channel a client can ask for;
# /ws adds it for clients that gave the API token.
LOG = "log"
EVENT_KINDS = frozenset(
    {
        CANDLE,
        CANDLE_UPDATE,
        TICK,
        SIGNAL,
        ORDER,
        TRADE,
        POSITION,
        STATUS,
        ERROR,
        PERFORMANCE,
        NOTICE,
    }
)


@dataclass(slots=True)
class Event:
    """Something that happened. `data` is a domain object or a JSON-ready dict; `symbol` filters."""

    kind: str
    data: Any
    symbol: str | None = None
    ts_ms: int = 0
    # A candle's interval ("1m", "5m", …): only subscribers of that interval get it; None: all.
    interval: str | None = None
    # Serialised once, lazily, by whoever first needs the wire form (shared by all subscribers).
    encoded: bytes | None = None


KindsListener = Callable[[frozenset[str], frozenset[str]], None]
DEFAULT_INTERVALS = frozenset({"1m"})  # candle intervals a new subscriber gets


class Subscriber:
    """One consumer's bounded queue and what it wants to see.

    `kinds` is a frozenset: change it by assigning (`sub.kinds = {...}`, `sub.kinds |= {...}`,
    `sub.kinds -= {...}`) or `set_kinds`; each change is reported (before, after) to the hub,
    so `Hub.wanted()` is a counter lookup instead of a scan of every subscriber. `intervals`
    (the candle intervals wanted, 1m by default) works the same way, for `Hub.wanted_interval()`.
    """

    def __init__(
        self,
        queue: asyncio.Queue[Event],
        kinds: Iterable[str] | None = None,
        symbols: set[str] | None = None,
        overflowed: asyncio.Event | None = None,
    ) -> None:
        self.queue = queue
        self._kinds = frozenset(EVENT_KINDS - {TICK} if kinds is None else kinds)
        self._listener: KindsListener | None = None
        self._intervals = DEFAULT_INTERVALS
        self._interval_listener: KindsListener | None = None
        self.symbols = symbols  # None means every symbol
        self.overflowed = overflowed or asyncio.Event()

    @property
    def kinds(self) -> frozenset[str]:
        return self._kinds

    @kinds.setter
    def kinds(self, kinds: Iterable[str]) -> None:
        self.set_kinds(kinds)

    def set_kinds(self, kinds: Iterable[str]) -> None:
        """Want exactly `kinds` from now on."""
        before, after = self._kinds, frozenset(kinds)
        self._kinds = after
        if self._listener is not None and after != before:
            self._listener(before, after)

    @property
    def intervals(self) -> frozenset[str]:
        return self._intervals

    @intervals.setter
    def intervals(self, intervals: Iterable[str]) -> None:
        before, after = self._intervals, frozenset(intervals)
        self._intervals = after
        if self._interval_listener is not None and after != before:
            self._interval_listener(before, after)

    def wants(self, event: Event) -> bool:
        if event.kind not in self._kinds:
            return False
        if event.interval is not None and event.interval not in self._intervals:
            return False
        return self.symbols is None or event.symbol is None or event.symbol in self.symbols


class Hub:
    """Fan-out of events to subscribers without ever blocking the publisher."""

    def __init__(self, on_overflow: Callable[[Subscriber], None] | None = None) -> None:
        self._subscribers: set[Subscriber] = set()
        self._on_overflow = on_overflow
        self._wanted: dict[str, int] = {}  # kind -> how many subscribers want it
        self._intervals: dict[str, int] = {}  # candle interval -> how many subscribers want it
        self.dropped_subscribers = 0

    def subscribe(self, maxsize: int = 1000) -> Subscriber:
        sub = Subscriber(queue=asyncio.Queue(maxsize=maxsize))
        self._subscribers.add(sub)
        sub._listener = self._kinds_changed
        sub._interval_listener = self._intervals_changed
        self._kinds_changed(frozenset(), sub.kinds)
        self._intervals_changed(frozenset(), sub.intervals)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subscribers:
            self._subscribers.discard(sub)
            sub._listener = sub._interval_listener = None
            self._kinds_changed(sub.kinds, frozenset())
            self._intervals_changed(sub.intervals, frozenset())

    def _kinds_changed(self, before: frozenset[str], after: frozenset[str]) -> None:
        _count(self._wanted, before, after)

    def _intervals_changed(self, before: frozenset[str], after: frozenset[str]) -> None:
        _count(self._intervals, before, after)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def wanted(self, kind: str) -> bool:
        """Cheap check before building an event nobody would read (O(1))."""
        return kind in self._wanted

    def wanted_interval(self, interval: str) -> bool:
        """Whether any subscriber wants candles of `interval` (O(1), whatever its channels)."""
        return interval in self._intervals

    def publish(self, event: Event) -> None:
        if event.kind not in self._wanted:
            return
        overflowed: list[Subscriber] = []
        for sub in self._subscribers:
            if not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                overflowed.append(sub)
        for sub in overflowed:
            self.unsubscribe(sub)
            self.dropped_subscribers += 1
            sub.overflowed.set()
            if self._on_overflow is not None:
                self._on_overflow(sub)


def _count(counts: dict[str, int], before: frozenset[str], after: frozenset[str]) -> None:
    """Keep `counts` (key -> how many subscribers want it) up to date with one change."""
    for key in after - before:
        counts[key] = counts.get(key, 0) + 1
    for key in before - after:
        left = counts.get(key, 0) - 1
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)
