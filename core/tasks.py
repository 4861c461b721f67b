"""Ownership of background tasks: every task is named, logged when it fails, cancelled at stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskOwner:
    """Holds strong references to background tasks; no fire-and-forget `create_task`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._on_done)
        return task

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed: %r", task.get_name(), exc, exc_info=exc)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def cancel_all(self, grace_s: float = 5.0) -> None:
        """Cancel every task and wait for them, at most `grace_s` seconds."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(tasks, timeout=grace_s)
        still = [t.get_name() for t in tasks if not t.done()]
        if still:
            log.warning("%s: tasks still running after %.1fs: %s", self.name, grace_s, still)
