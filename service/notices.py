"""The dashboard's toasts from the notifications' own events: each committed ledger entry that
causes an event (a fill, a rejection, a variant's state changing, an exchange reset:
storage.outbox.events_of) is published on the hub as a /ws `notice`, in the words Telegram gets
(service.notifier.text_of), at its NOTIFY_EVENTS level (off: not shown).

The ledger calls `committed` from its writer thread after the commit; the events go to the loop
with `call_soon_threadsafe`. The hub is lossy by design: a page that misses a notice re-reads
the snapshot. The durable path is the outbox (service.notifier), never this one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.hub import NOTICE, Event, Hub
from execution.codec import Entry
from service.notifier import text_of
from storage.outbox import Event as OutboxEvent
from storage.outbox import events_of


def notice_data(seq: int, entry: Entry, levels: dict[str, str]) -> list[dict[str, Any]]:
    """The notices entry `seq` causes: the notification's body plus its `text`."""
    return notices_of(events_of(seq, entry), levels)


def notices_of(events: list[OutboxEvent], levels: dict[str, str]) -> list[dict[str, Any]]:
    """Each event's notification body plus its `text`, unless its kind is off."""
    out = []
    for event in events:
        level = levels.get(event.kind, "on")
        if level == "off":
            continue
        body = event.body(silent=level == "silent")
        out.append({**body, "text": text_of(body)})
    return out


class NoticeFeed:
    """Committed entries -> /ws `notice` events. `attach()` from the loop first."""

    def __init__(self, hub: Hub, levels: dict[str, str]) -> None:
        self._hub = hub
        self._levels = levels
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self) -> None:
        self._loop = asyncio.get_running_loop()

    def detach(self) -> None:
        self._loop = None

    def committed(self, numbered: list[tuple[int, Entry]]) -> None:
        """A committed batch (the ledger's writer thread): its notices to the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        notices = [n for seq, entry in numbered for n in notice_data(seq, entry, self._levels)]
        if notices:
            loop.call_soon_threadsafe(self._publish, notices)

    def events(self, events: list[OutboxEvent]) -> None:
        """Events no entry causes (service.notable), from the loop: published at once."""
        self._publish(notices_of(events, self._levels))

    def _publish(self, notices: list[dict[str, Any]]) -> None:
        for data in notices:
            self._hub.publish(Event(NOTICE, data, ts_ms=data["time_ms"]))
