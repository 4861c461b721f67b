"""One queue and one worker per (variant, symbol): that pair's jobs run one at a time, in order.

The executor's concurrency (execution.executor): pairs run side by side, a pair never has two
orders in flight. `put` never waits; `stop` lets the queued jobs finish (bounded) first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from core.tasks import TaskOwner

Job = TypeVar("Job")
Pair = tuple[str, str]  # (variant, symbol)


class PairWorkers(Generic[Job]):
    """Runs `run(job)` for each job put, serially per pair; a worker starts with its pair's
    first job."""

    def __init__(self, run: Callable[[Job], Awaitable[object]], name: str) -> None:
        self._run = run
        self._queues: dict[Pair, asyncio.Queue[Job | None]] = {}
        self._tasks = TaskOwner(name)
        self._workers: list[asyncio.Task[None]] = []

    def put(self, pair: Pair, job: Job) -> None:
        q = self._queues.get(pair)
        if q is None:
            q = self._queues[pair] = asyncio.Queue()
            self._workers.append(self._tasks.spawn(self._work(q), f"{pair[0]}:{pair[1]}"))
        q.put_nowait(job)

    async def stop(self, drain_timeout_s: float) -> None:
        """Finish what is queued (at most `drain_timeout_s`), then stop the workers."""
        for q in self._queues.values():
            q.put_nowait(None)
        if self._workers:
            await asyncio.wait(self._workers, timeout=drain_timeout_s)
        await self._tasks.cancel_all()
        self._queues.clear()
        self._workers.clear()

    async def wait_idle(self) -> None:
        """Until every queued job has run."""
        await asyncio.gather(*(q.join() for q in self._queues.values()))

    async def _work(self, q: asyncio.Queue[Job | None]) -> None:
        while True:
            job = await q.get()
            try:
                if job is None:
                    return
                await self._run(job)
            finally:
                q.task_done()
