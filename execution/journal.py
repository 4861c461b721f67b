"""The trade journal: append-only JSON lines, flushed and fsynced by a writer thread.

Each order writes its intent before the request and then one outcome (`filled`, `rejected`,
`abandoned`), keyed by `client_order_id`. `await append(rec)` returns once the line is on disk
(the executor awaits it before sending an order); `append_nowait(rec)` queues without waiting.
Group commit: the lines appended during one turn of the event loop go to the writer thread as
one batch, written by one O_DSYNC write (it returns when the data is durable, like write +
fdatasync), so concurrent orders (every variant crossing on the same candle) share a disk sync
instead of queueing behind each other's; the event loop never blocks on the disk. Lines are
never rewritten. A torn last line (a crash mid-write) is reported, skipped, and sealed at the
next start by a newline and a `repair` line naming it; any other unreadable line is an error
(`JournalCorruptError`): silently dropping a fill from the middle would rebuild wrong positions.

Entries are typed (`execution.codec`: order records, signal notes, exchange resets); a line
of the wrong shape stops the start with `JournalFormatError` naming the file and line.

A backtest keeps its records in memory (`backtest.orders`) and writes them with `write_lines`
at its end: nothing is sent anywhere, so there is nothing to make durable before a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any

import orjson

from core.errors import FatalError
from execution.codec import REPAIR, Entry, JournalFormatError, decode, encode
from execution.models import OrderRecord, OrderStatus

log = logging.getLogger(__name__)

OUTCOMES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.REJECTED,
        OrderStatus.ABANDONED,
        OrderStatus.OPEN,  # a stop the exchange accepted: no longer an unknown outcome
        OrderStatus.CANCELED,
    }
)


class JournalCorruptError(FatalError):
    """A line in the middle of the journal cannot be read: needs a human."""


class _Stop:
    pass


_STOP = _Stop()
_Batch = tuple[list[bytes], list["asyncio.Future[None]"]]
# O_DSYNC: a write returns once its data (and the file size) is on disk, like write + fdatasync
# but in one system call, so the writer thread takes the GIL back once per batch instead of
# twice; while the event loop is busy, each of those waits can last the switch interval (5 ms).
_DSYNC = getattr(os, "O_DSYNC", 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def journal_line(entry: Entry) -> bytes:
    """One entry as its journal line (JSON and a newline)."""
    return orjson.dumps(encode(entry)) + b"\n"


def write_lines(path: Path, entries: list[Entry]) -> None:
    """Write `entries` as a new journal at `path` (blocking: run it off the event loop)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(journal_line(e) for e in entries))


def journal_problem(path: Path) -> str | None:
    """Why `path` cannot be the journal (a folder, an unwritable place), or None. Blocking:
    called once at start, before the event loop."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):
            pass
    except OSError as exc:
        return f"{path} cannot be written: {exc.strerror or exc}"
    return None


def last_time_ms(path: Path, tail_bytes: int = 65_536) -> int | None:
    """The `time` of the journal's last readable line (read from its tail only), or None.
    Blocking: call it off the event loop."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            lines = fh.read().split(b"\n")
    except OSError:
        return None
    for raw in reversed(lines):
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("time"), int):
            return int(rec["time"])
    return None


def read_journal(path: Path) -> tuple[list[Entry], list[int], bytes]:
    """Entries, line numbers skipped as torn, and what to write first to seal a torn tail
    (a newline if the last line lacks one, a `repair` line if the last line is unreadable)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], [], b""
    lines = data.split(b"\n")
    ends_clean = data == b"" or data.endswith(b"\n")
    if ends_clean:
        lines.pop()  # the empty piece after the last newline
    parsed: list[tuple[int, dict[str, Any] | None]] = []
    for number, raw in enumerate(lines, start=1):
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            rec = None
        parsed.append((number, rec if isinstance(rec, dict) else None))
    repaired = {
        rec.get("skipped_line")
        for _, rec in parsed
        if rec is not None and rec.get("type") == REPAIR
    }
    records: list[Entry] = []
    torn: list[int] = []
    for index, (number, rec) in enumerate(parsed):
        if rec is None:
            if number in repaired or index == len(parsed) - 1:
                torn.append(number)
                continue
            raise JournalCorruptError(f"{path}: line {number} is not a JSON object")
        try:
            entry = decode(rec)
        except JournalFormatError as exc:
            raise JournalFormatError(f"{path}: line {number}: {exc}") from None
        if entry is not None:
            records.append(entry)
    seal = b"" if ends_clean else b"\n"
    if parsed and parsed[-1][1] is None and parsed[-1][0] not in repaired:
        seal += orjson.dumps({"type": REPAIR, "skipped_line": parsed[-1][0]}) + b"\n"
    return records, torn, seal


class Journal:
    """Append-only JSON-lines journal at `path` (created with its folder if missing)."""

    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._records: list[Entry] = []
        self.torn_lines: list[int] = []
        self._queue: queue.SimpleQueue[_Batch | _Stop] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failed: BaseException | None = None
        self._started = False
        # Lines appended during the current loop turn, handed over together (group commit).
        self._lines: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._handoff_scheduled = False

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read what is there (off the loop), seal a torn tail, start the writer thread."""
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._started = True
        records, torn, seal = await asyncio.to_thread(read_journal, self.path)
        self._records = records
        self.torn_lines = torn
        for number in torn:
            log.warning("journal %s: line %d is torn (crash mid-write): skipped", self.path, number)
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()
        if seal:
            self._lines.append(seal)
            await self._flush_soon()

    async def stop(self) -> None:
        """Write what is queued, then end the writer thread."""
        if not self._started:
            return
        self._started = False
        thread = self._thread
        if thread is None:
            return
        self._hand_off()
        self._queue.put(_STOP)
        await asyncio.to_thread(thread.join)
        self._thread = None

    # -- writing -----------------------------------------------------------------------------

    async def append(self, record: Entry) -> None:
        """Append one record; return once it is flushed and fsynced (together with whatever
        else was appended in the same loop turn)."""
        self._add(record)
        await self._flush_soon()

    def append_nowait(self, record: Entry) -> None:
        """Append one record without waiting for the disk (it is written in order)."""
        self._add(record)
        self._schedule_handoff()

    def _add(self, record: Entry) -> None:
        """Keep `record` and queue its line."""
        self._check()
        self._records.append(record)
        self._lines.append(journal_line(record))

    @property
    def failure(self) -> str | None:
        """Why the journal cannot be written any more (None while it can)."""
        return None if self._failed is None else f"{self.path}: {self._failed}"

    def _check(self) -> None:
        if not self._started:
            raise RuntimeError("journal is not started")
        if self._failed is not None:
            raise RuntimeError(f"journal writer failed: {self._failed!r}")

    def _flush_soon(self) -> asyncio.Future[None]:
        """A future resolved when the lines appended so far are on disk."""
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        self._schedule_handoff()
        return fut

    def _schedule_handoff(self) -> None:
        if not self._handoff_scheduled and self._loop is not None:
            self._handoff_scheduled = True
            # Runs after every task already woken in this turn: their lines join the batch.
            self._loop.call_soon(self._hand_off)

    def _hand_off(self) -> None:
        self._handoff_scheduled = False
        if not self._lines and not self._waiters:
            return
        lines, self._lines = self._lines, []
        waiters, self._waiters = self._waiters, []
        self._queue.put((lines, waiters))

    def _run(self) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (_DSYNC if self._fsync else 0)
        fd = os.open(self.path, flags, 0o644)
        try:
            stop = False
            while not stop:
                lines: list[bytes] = []
                waiters: list[asyncio.Future[None]] = []
                item = self._queue.get()
                while True:
                    if isinstance(item, _Stop):
                        stop = True
                    else:
                        lines.extend(item[0])
                        waiters.extend(item[1])
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if not lines and not waiters:
                    continue
                error: BaseException | None = None
                try:
                    _write_all(fd, b"".join(lines))
                    if self._fsync and not _DSYNC:
                        os.fsync(fd)
                except OSError as exc:
                    error = self._failed = exc
                    log.error("journal %s: write failed: %r", self.path, exc)
                self._resolve(waiters, error)
        finally:
            os.close(fd)

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
                    fut.set_exception(RuntimeError(f"journal write failed: {error!r}"))

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(done)

    # -- reading -----------------------------------------------------------------------------

    def records(self) -> list[Entry]:
        """Every entry, in journal order (order records, signal notes, resets)."""
        return list(self._records)

    def orders(self) -> list[OrderRecord]:
        """Every order record (intents and outcomes), in journal order."""
        return [r for r in self._records if isinstance(r, OrderRecord)]

    def open_intents(self) -> list[OrderRecord]:
        """Intents that have no outcome yet (in flight, or interrupted by a crash)."""
        orders = self.orders()
        done = {r.client_order_id for r in orders if r.status in OUTCOMES}
        return [
            r for r in orders if r.status is OrderStatus.INTENT and r.client_order_id not in done
        ]

    def known_client_ids(self) -> set[str]:
        return {r.client_order_id for r in self.orders()}

    def trades(
        self,
        symbol: str | None = None,
        variant: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[OrderRecord]:
        """Filled orders, oldest first; `since` is a fill time in epoch ms (inclusive);
        `limit` keeps the most recent ones."""
        out = [
            r
            for r in self._records
            if isinstance(r, OrderRecord)
            and r.status is OrderStatus.FILLED
            and (symbol is None or r.symbol == symbol)
            and (variant is None or r.variant == variant)
            and (since is None or (r.fill_time_ms or 0) >= since)
        ]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out
