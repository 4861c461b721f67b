"""The service's WARNING and ERROR lines for the dashboard: the newest kept, each published on
the hub as a /ws `log` event (which /ws sends only to clients that gave the API token).

A logging handler: it runs wherever a record is logged (the loop, or a worker thread), so it
hands each line to the loop with `call_soon_threadsafe` and never waits. Lines are scrubbed like
the service's own log (secrets and query strings masked) and cut to one line; tracebacks are
left to the log file. A record logged while publishing one is dropped (no recursion).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from typing import Any

from core.clock import Clock
from core.hub import LOG, Event, Hub
from service.logs import Scrubber, one_line

KEEP = 200  # lines kept for a page that connects
MAX_CHARS = 500


class LogFeed(logging.Handler):
    """WARNING and above, kept and published. Attach with `install()`, detach with `remove()`."""

    def __init__(self, hub: Hub, clock: Clock, scrub: Scrubber, keep: int = KEEP) -> None:
        super().__init__(logging.WARNING)
        self._hub = hub
        self._clock = clock
        self._scrub = scrub
        self.lines: deque[dict[str, Any]] = deque(maxlen=keep)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._busy = threading.local()

    def install(self) -> None:
        """Listen to the root logger; events go to the running loop."""
        self._loop = asyncio.get_running_loop()
        logging.getLogger().addHandler(self)

    def remove(self) -> None:
        logging.getLogger().removeHandler(self)
        self._loop = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            text = one_line(self._scrub(record.getMessage()))
            line = {
                "time_ms": self._clock.now_ms(),
                "level": record.levelname,
                "logger": record.name,
                "message": text[:MAX_CHARS],
            }
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._publish, line)
        except Exception:  # a log line must never break what logged it
            self.handleError(record)
        finally:
            self._busy.on = False

    def _publish(self, line: dict[str, Any]) -> None:
        self.lines.append(line)
        self._busy.on = True  # the hub may log (a client dropped): not published again
        try:
            self._hub.publish(Event(LOG, line, ts_ms=line["time_ms"]))
        finally:
            self._busy.on = False
