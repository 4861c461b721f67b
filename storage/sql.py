"""The ledger in a SQL database (execution.ledger's seam), SQLite or PostgreSQL alike.

Appends go through a group commit (`execution.group_commit`): the entries of one loop turn are
one transaction, committed by a writer thread, so the event loop never waits on the database
and concurrent orders share one sync. Entries are numbered (`seq`) by this process, the only
writer (`storage.database` claims the ledger). At start every entry is read back in order, off
the event loop, and kept for the queries of `RecordedEntries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import orjson
from sqlalchemy import Connection, func, select

from execution.codec import Entry, JournalFormatError, decode
from execution.group_commit import GroupCommit
from execution.ledger import Filters, LedgerUnavailableError, Page, RecordedEntries
from execution.models import OrderRecord
from storage import schema
from storage.database import Database
from storage.queries import fills_page, signals_page
from storage.rows import rows_by_table
from strategy.models import SignalRaised

log = logging.getLogger(__name__)


def iter_entries(conn: Connection, after_seq: int = 0) -> Iterator[tuple[int, Entry]]:
    """Every entry after `after_seq`, in order; a row of the wrong shape raises
    `JournalFormatError` naming its seq."""
    rows = conn.execute(
        select(schema.entries.c.seq, schema.entries.c.body)
        .where(schema.entries.c.seq > after_seq)
        .order_by(schema.entries.c.seq)
    )
    for seq, body in rows:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise JournalFormatError(f"entry {seq} is not JSON") from None
        if not isinstance(obj, dict):
            raise JournalFormatError(f"entry {seq} is not a JSON object")
        try:
            entry = decode(obj)
        except JournalFormatError as exc:
            raise JournalFormatError(f"entry {seq}: {exc}") from None
        if entry is not None:
            yield seq, entry


def read_entries(db: Database) -> tuple[list[Entry], int]:
    """Every entry in order, and the last seq (blocking: run it off the event loop)."""
    with db.engine.connect() as conn:
        numbered = list(iter_entries(conn))
        last = conn.execute(select(func.max(schema.entries.c.seq))).scalar() or 0
    return [e for _, e in numbered], int(last)


def last_time_ms(db: Database) -> int | None:
    """The newest entry's time (blocking)."""
    with db.engine.connect() as conn:
        value = conn.execute(select(func.max(schema.entries.c.time_ms))).scalar()
    return None if value is None else int(value)


def write_entries(db: Database, numbered: list[tuple[int, Entry]]) -> None:
    """`numbered` entries in one transaction (blocking)."""
    with db.engine.begin() as conn:
        insert_entries(conn, numbered)


def insert_entries(conn: Connection, numbered: list[tuple[int, Entry]]) -> None:
    """The rows of `numbered` entries, in the transaction `conn` is in."""
    for table, rows in rows_by_table(numbered):
        conn.execute(table.insert(), rows)


class Writer:
    """The writer thread's own connection, kept between batches (a checkout per batch, and
    PostgreSQL's ping on it, cost more than the insert); after a failure it is dropped and the
    next try connects anew."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Connection | None = None

    def __call__(self, numbered: list[tuple[int, Entry]]) -> None:
        if self._conn is None:
            self._conn = self._db.engine.connect()
        try:
            with self._conn.begin():
                insert_entries(self._conn, numbered)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None


class SqlLedger(RecordedEntries):
    """The service's ledger on an open `Database`."""

    def __init__(self, db: Database, owns_db: bool = False) -> None:
        super().__init__()
        self.db = db
        self._owns_db = owns_db  # closed at stop (else whoever opened it closes it)
        self._loaded = False
        self._seq = 0
        self._writer = Writer(db)
        self._commit: GroupCommit[tuple[int, Entry]] = GroupCommit(self._writer, "ledger-writer")

    @property
    def name(self) -> str:
        return self.db.name

    @property
    def failure(self) -> str | None:
        error = self._commit.failure
        return None if error is None else f"{self.name}: {error}"

    async def load(self) -> None:
        """Read every entry back (once; off the event loop)."""
        if self._loaded:
            return
        self._records, self._seq = await asyncio.to_thread(read_entries, self.db)
        self._loaded = True

    async def start(self) -> None:
        """Load, then start the writer."""
        await self.load()
        if not self._commit.running:
            self._commit.start()

    async def stop(self) -> None:
        """Commit what is queued, then end the writer."""
        await self._commit.stop()
        self._writer.close()
        if self._owns_db:
            await asyncio.to_thread(self.db.close)

    async def append(self, record: Entry) -> None:
        """Append one entry; return once it is committed (with the others of this loop
        turn). `LedgerUnavailableError` when it cannot be (see execution.ledger)."""
        self._add(record)
        try:
            await self._commit.flush_soon()
        except RuntimeError as exc:
            raise LedgerUnavailableError(str(exc)) from None

    def append_nowait(self, record: Entry) -> None:
        """Append one entry without waiting for the commit (it is written in order)."""
        self._add(record)

    async def fills_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[OrderRecord]:
        """Filled orders from the indexes (storage.queries), everything appended so far in."""
        await self._settled()
        return await asyncio.to_thread(fills_page, self.db, filters, limit, cursor)

    async def signals_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[SignalRaised]:
        """Signals from the indexes (storage.queries), everything appended so far in."""
        await self._settled()
        return await asyncio.to_thread(signals_page, self.db, filters, limit, cursor)

    async def _settled(self) -> None:
        """Wait until what was appended so far is committed (a page reads its own writes);
        an unwritable ledger is read as it is."""
        if self._commit.running and self._commit.failure is None:
            with contextlib.suppress(RuntimeError):
                await self._commit.flush_soon()

    def _add(self, record: Entry) -> None:
        if not self._commit.running:
            raise RuntimeError("the ledger is not started")
        if self._commit.failure is not None:
            raise LedgerUnavailableError(f"the ledger cannot be written: {self.failure}")
        self._seq += 1
        self._records.append(record)
        self._commit.add((self._seq, record))
