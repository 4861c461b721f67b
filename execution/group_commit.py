"""Group commit: what is appended during one turn of the event loop is made durable together.

A writer thread takes batches from a queue and hands each to `write(items)` (one file write
with O_DSYNC, one database transaction): concurrent orders (every variant crossing on the same
candle) share one disk sync instead of queueing behind each other's, and the event loop never
blocks on the disk. `flush_soon()` gives a future resolved once everything added so far is
durable, or failed with the write's error. An item added without a waiter (`add` alone: a
closed candle, a signal note) waits up to `nowait_delay_s` for one: the order that the candle
or signal leads to then commits it in its own transaction, instead of queueing behind a
commit of its own (the candle-to-order path pays one sync, not two). `after(items)`, when
given, runs in the writer thread once batches are durable and their waiters released, when
no new batch came for 5 ms (at the latest after 0.5 s, or at once for a `settle_soon()`
waiter): the store's derived rows, off the order's path.

After a failed write the committer is failed (`failure` says why) until that same batch has
been written: its waiters fail at once (an order whose intent could not be written is never
sent, and no request waits on a dead database), the writer tries the batch again with a backoff
(1 s growing to 30 s), and `add` must not be called meanwhile (the owner refuses appends while
`failure` is set), so nothing is written out of order. Once the batch is in, `failure` clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
NOWAIT_DELAY_S = 0.05
AFTER_IDLE_S = 0.005  # `after` runs once no batch came for this long
AFTER_MAX_WAIT_S = 0.5  # or once its oldest items waited this long


class _Stop:
    pass


_STOP = _Stop()


@dataclass(slots=True)
class _Batch(Generic[T]):
    items: list[T]
    waiters: list[asyncio.Future[None]]  # released once the items are durable
    settlers: list[asyncio.Future[None]]  # released once `after` has run too


class GroupCommit(Generic[T]):
    """Batches of items, written in order by one thread with `write`."""

    def __init__(
        self,
        write: Callable[[list[T]], None],
        name: str,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
        nowait_delay_s: float = NOWAIT_DELAY_S,
        after: Callable[[list[T]], None] | None = None,
    ) -> None:
        self._write = write
        self._name = name
        self._retry_first_s = retry_first_s
        self._retry_max_s = retry_max_s
        self._nowait_delay_s = nowait_delay_s
        self._after = after
        self._stopping = threading.Event()
        self._queue: queue.SimpleQueue[_Batch[T] | _Stop] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failed: BaseException | None = None
        # Items added during the current loop turn, handed over together.
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._settlers: list[asyncio.Future[None]] = []
        self._handoff_scheduled = False
        self._handoff_later: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def failure(self) -> BaseException | None:
        """The write error that failed the committer (None while writes succeed)."""
        return self._failed

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        thread = self._thread
        if thread is None:
            return
        self._hand_off()
        self._stopping.set()  # a batch being retried is given up (its entries were refused)
        self._queue.put(_STOP)
        await asyncio.to_thread(thread.join)
        self._thread = None

    def add(self, item: T) -> None:
        """Queue `item`; it is written in order, with the next waiter's batch or within
        `nowait_delay_s`."""
        self._items.append(item)
        if self._loop is not None and self._handoff_later is None and not self._handoff_scheduled:
            self._handoff_later = self._loop.call_later(self._nowait_delay_s, self._hand_off)

    def flush_soon(self) -> asyncio.Future[None]:
        """A future resolved when the items added so far are durable."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        self._schedule_handoff()
        return fut

    def settle_soon(self) -> asyncio.Future[None]:
        """A future resolved when the items added so far are durable and `after` has run."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._settlers.append(fut)
        self._schedule_handoff()
        return fut

    def _schedule_handoff(self) -> None:
        if not self._handoff_scheduled and self._loop is not None:
            self._handoff_scheduled = True
            # Runs after every task already woken in this turn: their items join the batch.
            self._loop.call_soon(self._hand_off)

    def _hand_off(self) -> None:
        self._handoff_scheduled = False
        if self._handoff_later is not None:
            self._handoff_later.cancel()
            self._handoff_later = None
        if not self._items and not self._waiters and not self._settlers:
            return
        batch = _Batch(self._items, self._waiters, self._settlers)
        self._items, self._waiters, self._settlers = [], [], []
        self._queue.put(batch)

    def _run(self) -> None:
        stop = False
        later = _Batch[T]([], [], [])  # durable, `after` not run yet
        since = 0.0
        while not stop:
            batch: _Batch[T] = _Batch([], [], [])
            try:
                got = self._queue.get(timeout=AFTER_IDLE_S if later.items else None)
            except queue.Empty:  # idle: the derived rows now
                self._run_after(later)
                continue
            while True:
                if isinstance(got, _Stop):
                    stop = True
                else:
                    batch.items.extend(got.items)
                    batch.waiters.extend(got.waiters)
                    batch.settlers.extend(got.settlers)
                try:
                    got = self._queue.get_nowait()
                except queue.Empty:
                    break
            if not batch.items:
                self._resolve(batch.waiters, self._failed)
                later.settlers.extend(batch.settlers)
            else:
                try:
                    self._write(batch.items)
                except Exception as exc:
                    self._failed = exc
                    log.error("%s: write failed: %s", self._name, exc)
                    self._resolve(batch.waiters + batch.settlers, exc)  # nobody waits on it
                    if not self._retry(batch.items):
                        continue
                else:
                    self._resolve(batch.waiters, None)
                    later.settlers.extend(batch.settlers)
                if not later.items:
                    since = time.monotonic()
                later.items.extend(batch.items)
            # Orders first: `after` waits for a pause, unless someone waits on it or it waited
            # long enough.
            if stop or later.settlers or time.monotonic() - since >= AFTER_MAX_WAIT_S:
                self._run_after(later)

    def _run_after(self, later: _Batch[T]) -> None:
        if self._after is not None and later.items:
            self._after(list(later.items))
        later.items.clear()
        self._resolve(list(later.settlers), None)
        later.settlers.clear()

    def _retry(self, items: list[T]) -> bool:
        """Write the failed batch again until it goes in (True), or the committer stops."""
        delay = self._retry_first_s
        while not self._stopping.wait(delay):
            try:
                self._write(items)
            except Exception as exc:
                self._failed = exc
                delay = min(delay * 2, self._retry_max_s)
                continue
            log.warning("%s: writable again; the failed batch is in", self._name)
            self._failed = None
            return True
        return False

    def _resolve(self, futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
        if not futures or self._loop is None:
            return

        def done() -> None:
            for fut in futures:
                if fut.done():
                    continue
                if error is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(RuntimeError(f"{self._name} write failed: {error}"))

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(done)
