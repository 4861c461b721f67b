"""The ledger in a SQL database (execution.ledger's seam), SQLite or PostgreSQL alike.

Appends go through a group commit (`execution.group_commit`): the entries of one loop turn are
one transaction, committed by a writer thread, so the event loop never waits on the database
and concurrent orders share one sync. Entries are numbered (`seq`) by this process, the only
writer (`storage.database` claims the ledger).

Nothing is kept in memory per entry. The start folds the newest checkpoint and the entries
after it into the trading state (`trading_state`); from then on a new checkpoint is written
off the event loop every `checkpoint_every` entries and at stop (storage.checkpoints), so the
next start reads only what came after it. Queries read the indexes (storage.queries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import Connection, func, select

from aggregation.models import Candle
from execution.codec import Entry
from execution.group_commit import GroupCommit
from execution.ledger import Filters, LedgerUnavailableError, Page
from execution.models import OrderRecord
from execution.performance import FeeQuote, RoundTrip
from execution.trading_state import TradingState
from storage import schema
from storage.checkpoints import CHECKPOINT_EVERY, advance, fold, save
from storage.database import Database
from storage.entries import commit_entries, commit_typed, project_missing, read_entries
from storage.outbox import OutboxPolicy
from storage.queries import (
    equity_page,
    fills_page,
    recent_candles,
    round_trips_page,
    signals_page,
)
from strategy.models import SignalRaised

log = logging.getLogger(__name__)


class Writer:
    """The writer thread's own connection, kept between batches (a checkout per batch, and
    PostgreSQL's ping on it, cost more than the insert); after a failure it is dropped and the
    next try connects anew."""

    def __init__(self, db: Database, outbox: OutboxPolicy | None = None) -> None:
        self._db = db
        self._outbox = outbox
        self._conn: Connection | None = None
        self._unprojected: list[tuple[int, Entry]] = []

    def __call__(self, numbered: list[tuple[int, Entry]]) -> None:
        """Commit the entries (the order waits for this, and only this)."""
        if self._conn is None:
            self._conn = self._db.engine.connect()
        try:
            commit_entries(self._conn, numbered, self._outbox)
        except Exception:
            self.close()
            raise

    def project(self, numbered: list[tuple[int, Entry]]) -> None:
        """Their typed rows, once the order has gone on (`GroupCommit`'s `after`); rows that
        cannot be written now are tried again with the next batch (and by the next start)."""
        self._unprojected.extend(numbered)
        try:
            if self._conn is None:
                self._conn = self._db.engine.connect()
            commit_typed(self._conn, self._unprojected)
        except Exception as exc:
            log.warning("typed rows of %d entries not written yet: %s", len(self._unprojected), exc)
            self.close()
            return
        self._unprojected = []

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None


def _last_seq(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.max(schema.entries.c.seq))).scalar() or 0)


class SqlLedger:
    """The service's ledger on an open `Database`."""

    def __init__(
        self,
        db: Database,
        owns_db: bool = False,
        checkpoint_every: int = CHECKPOINT_EVERY,
        outbox: OutboxPolicy | None = None,
    ) -> None:
        self.db = db
        self._owns_db = owns_db  # closed at stop (else whoever opened it closes it)
        self._loaded = False
        self._seq = 0
        self._writer = Writer(db, outbox)
        self._commit: GroupCommit[tuple[int, Entry]] = GroupCommit(
            self._writer, "ledger-writer", after=self._after_commit
        )
        self._committed: list[Callable[[list[tuple[int, Entry]]], None]] = []
        self._every = checkpoint_every
        self._make_state: Callable[[], TradingState] | None = None
        self._checkpoint_seq = 0
        self._checkpointing: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.db.name

    def on_committed(self, listener: Callable[[list[tuple[int, Entry]]], None]) -> None:
        """Call `listener` with each batch of entries once it is committed: in the writer's
        thread, after the order has gone on (it must not block; it hands over and returns)."""
        self._committed.append(listener)

    def _after_commit(self, numbered: list[tuple[int, Entry]]) -> None:
        self._writer.project(numbered)
        for listener in self._committed:
            try:
                listener(numbered)
            except Exception as exc:  # a listener's fault is its own, never the ledger's
                log.warning("a listener of committed entries failed: %r", exc)

    @property
    def failure(self) -> str | None:
        error = self._commit.failure
        return None if error is None else f"{self.name}: {error}"

    async def load(self) -> None:
        """Where the ledger ends (once; off the event loop)."""
        if self._loaded:
            return
        projected = await asyncio.to_thread(project_missing, self.db)
        if projected:
            log.info(
                "ledger %s: typed rows of %d entries written after a crash", self.name, projected
            )
        self._seq = await asyncio.to_thread(_last_seq, self.db)
        self._loaded = True

    async def start(self) -> None:
        """Load, then start the writer."""
        await self.load()
        if not self._commit.running:
            self._commit.start()

    async def stop(self) -> None:
        """Commit what is queued, write a checkpoint of it, then end the writer."""
        await self._commit.stop()
        self._writer.close()
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):
                await self._checkpointing
        if self._make_state is not None and self._seq > self._checkpoint_seq:
            await self._advance()
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

    # -- the trading state --------------------------------------------------------------------

    async def trading_state(self, make_state: Callable[[], TradingState]) -> TradingState:
        """`make_state()` folded from the newest checkpoint up to the newest entry, off the
        event loop; a checkpoint of it is written at once when it folded anything (see the
        module docstring for the ones after)."""
        await self.settled()
        state = await asyncio.to_thread(fold, self.db, make_state)
        self._make_state = make_state
        self._checkpoint_seq = state.seq
        if state.entries:
            log.info("ledger %s: %d entries folded after the checkpoint", self.name, state.entries)
            try:
                await asyncio.to_thread(save, self.db, state)
            except Exception as exc:  # a cache: the next start folds a little more
                log.warning("ledger %s: checkpoint not written: %s", self.name, exc)
        return state

    def _maybe_checkpoint(self) -> None:
        if (
            self._make_state is not None
            and self._checkpointing is None
            and self._seq - self._checkpoint_seq >= self._every
        ):
            self._checkpoint_seq = self._seq  # tried: the next try comes `every` entries later
            self._checkpointing = asyncio.get_running_loop().create_task(self._advance())
            self._checkpointing.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, task: asyncio.Task[None]) -> None:
        self._checkpointing = None

    async def _advance(self) -> None:
        """A checkpoint at the newest committed entry (the fold runs in a thread, on its own
        connection; the live state is not touched)."""
        assert self._make_state is not None
        try:
            seq = await asyncio.to_thread(advance, self.db, self._make_state)
        except Exception as exc:  # a cache: trading goes on, the next one tries again
            log.warning("ledger %s: checkpoint not written: %s", self.name, exc)
            return
        self._checkpoint_seq = max(self._checkpoint_seq, seq)
        log.debug("ledger %s: checkpoint at entry %d", self.name, seq)

    # -- queries --------------------------------------------------------------------------------

    async def candles(self, symbol: str, limit: int) -> list[Candle]:
        """The newest `limit` closed 1-minute candles of `symbol`, oldest first (each open time
        once: the newest entry of a minute wins)."""
        await self.settled()
        return await asyncio.to_thread(recent_candles, self.db, symbol, limit)

    async def recent_signals(self, limit: int) -> list[SignalRaised]:
        """The newest `limit` signals, oldest first."""
        page = await self.signals_page(Filters(), limit, None)
        return page.rows

    async def fills_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[OrderRecord]:
        """Filled orders from the indexes (storage.queries), everything appended so far in."""
        await self.settled()
        return await asyncio.to_thread(fills_page, self.db, filters, limit, cursor)

    async def signals_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[SignalRaised]:
        """Signals from the indexes (storage.queries), everything appended so far in."""
        await self.settled()
        return await asyncio.to_thread(signals_page, self.db, filters, limit, cursor)

    async def round_trips_page(
        self, filters: Filters, limit: int, cursor: int | None, fee_quote: FeeQuote
    ) -> Page[tuple[str, str, RoundTrip]]:
        """Closed round trips from the indexes (storage.queries), everything appended so far
        in."""
        await self.settled()
        return await asyncio.to_thread(round_trips_page, self.db, filters, limit, cursor, fee_quote)

    async def equity_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> tuple[Page[tuple[int, Decimal]], int | None]:
        """Stored equity points of `filters.variant` (storage.queries.equity_page)."""
        return await asyncio.to_thread(equity_page, self.db, filters, limit, cursor)

    def records(self) -> list[Entry]:
        """Every committed entry, in order, read from the database (blocking: for tools and
        tests, never on the service's path)."""
        return read_entries(self.db)[0]

    async def settled(self) -> None:
        """Wait until what was appended so far is committed with its typed rows (a page reads
        its own writes); an unwritable ledger is read as it is."""
        if self._commit.running and self._commit.failure is None:
            with contextlib.suppress(RuntimeError):
                await self._commit.settle_soon()

    def _add(self, record: Entry) -> None:
        if not self._commit.running:
            raise RuntimeError("the ledger is not started")
        if self._commit.failure is not None:
            raise LedgerUnavailableError(f"the ledger cannot be written: {self.failure}")
        self._seq += 1
        self._commit.add((self._seq, record))
        self._maybe_checkpoint()
