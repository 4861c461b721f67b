"""The trials' workers: a Dask cluster, local or given by address.

Without an address, a LocalCluster of one single-threaded worker process per core on
127.0.0.1 (no dashboard); with one, the existing scheduler and its workers, which must be
able to import this project (start them from its folder, docs/backtests.md). The candles go
to every worker once (`scatter(broadcast=True)`); each batch names them by key. A worker that
dies mid-batch: the scheduler runs the batch again on another (Dask's own recovery), and a
batch's results are read once, when its future completes, so no trial is lost or counted
twice.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from aggregation.models import Candle
from core.errors import BadInputError
from optimize.trials import CandleSet, Task, TrialResult, run_batch

log = logging.getLogger(__name__)

# A batch is retried this often when its worker dies (or it raises) before it counts as failed.
RETRIES = 3


class ClusterError(BadInputError):
    """The scheduler cannot be reached, or has no worker."""


class Pool:
    """Batches of trials on a Dask client; candles scattered once per `use`.

    A batch is known by a handle: when its worker dies, Dask runs it again elsewhere; when
    the candles it needs are lost with it (scattered data cannot be recomputed), the pool
    scatters them again and submits the batch anew, under the same handle.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._raw = CandleSet("", [])
        self._candles: Any = None
        self._futures: dict[int, Any] = {}  # handle -> the batch's current future
        self._tasks: dict[int, Task] = {}
        self._resubmits: dict[int, int] = {}
        self._next = 0

    @property
    def workers(self) -> int:
        """Worker threads now (asked of the scheduler: the client's own view lags)."""
        threads: dict[str, int] = self.client.nthreads()
        return max(1, sum(threads.values()))

    def warm(self) -> None:
        """Every worker imports the trials' code now (a second or two), not at its first batch."""
        self.client.run(importlib.import_module, "optimize.trials")

    def use(self, candles: Sequence[Candle]) -> None:
        """Send `candles` to every worker, once (the batches that follow run on them)."""
        if self._candles is not None:
            self.client.cancel(self._candles)
        self._raw = CandleSet.of(candles)
        self._scatter()

    def _scatter(self) -> None:
        (self._candles,) = self.client.scatter([self._raw], broadcast=True, hash=False)

    def submit(self, task: Task) -> int:
        """Start a batch; returns its handle."""
        handle = self._next
        self._next += 1
        self._tasks[handle] = task
        self._futures[handle] = self._submit(task)
        return handle

    def _submit(self, task: Task) -> Any:
        return self.client.submit(run_batch, self._candles, task, pure=False, retries=RETRIES)

    def finished(self, handles: list[int]) -> list[tuple[int, list[TrialResult]]]:
        """Wait until at least one of the batches `handles` is done; (handle, results) of
        every done one, each handle once. A batch that failed RETRIES times raises here."""
        dask = _distributed()
        while True:
            futures = [self._futures[h] for h in handles]
            with contextlib.suppress(dask.client.FuturesCancelledError):
                dask.wait(futures, return_when="FIRST_COMPLETED")
            done: list[tuple[int, list[TrialResult]]] = []
            for handle in handles:
                future = self._futures[handle]
                if future.status == "cancelled" or future.status == "lost":
                    self._again(handle)
                elif future.done():
                    done.append((handle, future.result()))
                    del self._futures[handle], self._tasks[handle]
            if done:
                return done

    def _again(self, handle: int) -> None:
        """Submit a batch whose candles were lost with their worker again (scattered anew)."""
        count = self._resubmits.get(handle, 0) + 1
        if count > RETRIES:
            raise ClusterError(f"a batch of trials was lost {count - 1} times with its workers")
        self._resubmits[handle] = count
        log.warning("a worker died with the candles of a batch: sending them again")
        if self._candles is None or self._candles.status != "finished":
            self._scatter()
        self._futures[handle] = self._submit(self._tasks[handle])

    def cancel(self, handles: list[int]) -> None:
        futures = [self._futures.pop(h) for h in handles if h in self._futures]
        if futures:
            self.client.cancel(futures)


def _distributed() -> Any:
    """dask.distributed, imported when a pool opens (it takes half a second), untyped."""
    import dask.distributed

    # Its scheduler logs every connection at INFO on stderr; a user wants the warnings.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return dask.distributed


@contextlib.contextmanager
def open_pool(address: str | None, workers: int | None) -> Iterator[Pool]:
    """A Pool on the scheduler at `address`, or on a LocalCluster of `workers` processes
    (default: one per core); closed on leaving."""
    dask = _distributed()
    if address is not None:
        try:
            client = dask.Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"--cluster {address}: no Dask scheduler answers ({exc})") from None
        try:
            if not client.scheduler_info()["workers"]:
                client.wait_for_workers(1, timeout=30)
            yield Pool(client)
        except TimeoutError:
            raise ClusterError(f"--cluster {address}: the scheduler has no worker") from None
        finally:
            client.close()
        return
    count = workers or os.cpu_count() or 1
    # The workers' statistical profiler samples the running batch's stack every 10 ms: about
    # a tenth of a batch's time, for a dashboard no one opens here.
    import dask as dask_config

    dask_config.config.set({"distributed.worker.profile.enabled": False})
    cluster = dask.LocalCluster(
        n_workers=count,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = dask.Client(cluster)
    try:
        client.wait_for_workers(count, timeout=120)
        yield Pool(client)
    finally:
        client.close()
        cluster.close()
