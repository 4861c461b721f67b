"""Hears about the exchange's stops: user-data events while the stream is up, polling while
it is down, and one look at every stop after each reconnect (nothing missed across a drop).

Whatever it hears, it only asks the executor to look at that position's stop in its worker
(`OrderExecutor.check_stop`): the exchange's answer, by client order id, is what gets
recorded, so a duplicated, late or missed event changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from execution.executor import OrderExecutor

log = logging.getLogger(__name__)
POLL_S = 2.0  # real seconds between looks at every stop while the stream is down


class StopWatch:
    def __init__(self, executor: OrderExecutor, poll_s: float = POLL_S) -> None:
        self._executor = executor
        self._poll_s = poll_s
        self.stream_up = False
        self.events = 0

    def on_report(self, event: dict[str, Any]) -> None:
        """An executionReport: if it is about one of our stops, have it looked at."""
        stops = self._executor.stops
        if stops is None:
            return
        for cid in (event.get("c"), event.get("C")):
            owner = stops.owner_of(cid) if isinstance(cid, str) and cid else None
            if owner is not None:
                self.events += 1
                self._executor.check_stop(*owner)
                return

    def on_connected(self, up: bool) -> None:
        self.stream_up = up
        if up:
            self.check_all()  # whatever happened while it was down

    def check_all(self) -> None:
        stops = self._executor.stops
        for stop in stops.all_live() if stops is not None else []:
            self._executor.check_stop(stop.variant, stop.symbol)

    async def poll_while_down(self) -> None:
        """An owned task: while the stream is down, look at every stop every `poll_s`."""
        while True:
            await asyncio.sleep(self._poll_s)
            if not self.stream_up:
                self.check_all()
