"""Checkpoints of the trading state on SQLite and PostgreSQL: the start folds only what came
after the newest one, a checkpoint it cannot use is passed over, and what it gives is what a
fold of every entry gives."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from execution.codec import Entry
from execution.ledger import Filters
from execution.trading_state import TradingState
from storage import schema
from storage.database import Database
from storage.entries import read_entries
from storage.sql import SqlLedger
from tests.execution.test_trading_state import folded, history, lot
from tests.ledgers import write_as_crashed

ENTRIES = history(11, steps=300)


def make_state(capital: int = 1000) -> TradingState:
    return TradingState(["A", "B"], Decimal(capital), lot, max_points=40)


async def ledger_on(url: str, every: int = 10_000) -> SqlLedger:
    ledger = SqlLedger(Database.open(url, exchange=None), owns_db=True, checkpoint_every=every)
    await ledger.start()
    return ledger


async def append_all(ledger: SqlLedger, entries: list[Entry]) -> None:
    for entry in entries:
        await ledger.append(entry)


def checkpoint_seqs(ledger: SqlLedger) -> list[int]:
    with ledger.db.engine.connect() as conn:
        t = schema.checkpoints
        return list(conn.execute(select(t.c.seq).order_by(t.c.seq)).scalars())


async def test_the_start_folds_only_what_came_after_the_checkpoint(ledger_url: str) -> None:
    whole = folded(ENTRIES).snapshot()
    ledger = await ledger_on(ledger_url)
    await append_all(ledger, ENTRIES[:200])
    first = await ledger.trading_state(make_state)
    assert first.entries == 200  # nothing to start from: every entry, and a checkpoint of it
    await append_all(ledger, ENTRIES[200:])
    await ledger.stop()  # writes a checkpoint at the newest entry

    again = await ledger_on(ledger_url)
    state = await again.trading_state(make_state)
    assert state.entries == 0 and state.seq == len(ENTRIES)
    assert state.snapshot() == whole
    await again.stop()


async def test_a_crash_leaves_a_tail_that_the_next_start_folds(ledger_url: str) -> None:
    ledger = await ledger_on(ledger_url)
    await append_all(ledger, ENTRIES[:250])
    await ledger.trading_state(make_state)
    await ledger.stop()
    from execution.codec import encode

    write_as_crashed(ledger_url, *(encode(e) for e in ENTRIES[250:]))  # no checkpoint of them
    again = await ledger_on(ledger_url)
    state = await again.trading_state(make_state)
    assert state.entries == len(ENTRIES) - 250
    assert state.snapshot() == folded(ENTRIES).snapshot()
    await again.stop()


async def test_checkpoints_are_written_as_entries_come_and_only_the_newest_kept(
    ledger_url: str,
) -> None:
    ledger = await ledger_on(ledger_url, every=40)
    await ledger.trading_state(make_state)  # empty: the checkpointer knows what to fold
    for entry in ENTRIES:
        await ledger.append(entry)
        await asyncio.sleep(0)  # the checkpointer's thread gets its turns
    for _ in range(200):  # the last one may still be folding
        if ledger._checkpointing is None:
            break
        await asyncio.sleep(0.01)
    seqs = checkpoint_seqs(ledger)
    assert len(seqs) == 2 and seqs[-1] > 80  # written while trading; only the newest two kept
    await ledger.stop()
    ledger_at = await ledger_on(ledger_url)
    assert checkpoint_seqs(ledger_at)[-1] == len(ENTRIES)
    state = await ledger_at.trading_state(make_state)
    assert state.entries == 0 and state.snapshot() == folded(ENTRIES).snapshot()
    await ledger_at.stop()


async def test_a_checkpoint_it_cannot_use_is_passed_over(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = await ledger_on(ledger_url)
    await append_all(ledger, ENTRIES)
    await ledger.trading_state(make_state)
    with ledger.db.engine.begin() as conn:  # damaged on disk
        conn.execute(update(schema.checkpoints).values(body='{"format": 1, "seq": 3}'))
    await ledger.stop()

    again = await ledger_on(ledger_url)
    with caplog.at_level(logging.WARNING, logger="storage.checkpoints"):
        state = await again.trading_state(make_state)
    assert "is not usable" in caplog.text
    assert state.entries == len(ENTRIES)  # folded from the first entry instead
    assert state.snapshot() == folded(ENTRIES).snapshot()
    # Another capital: the checkpoint's figures do not apply; every entry is folded again.
    other = await again.trading_state(lambda: make_state(capital=5000))
    assert other.entries == len(ENTRIES)
    assert other.accounts.money("A").capital == Decimal(5000)
    await again.stop()
    db = Database.open(ledger_url, exchange=None, exclusive=False)
    with db.engine.connect() as conn:
        newest = conn.execute(
            select(schema.checkpoints.c.fingerprint).order_by(schema.checkpoints.c.seq.desc())
        ).scalar()
    assert newest == make_state(capital=5000).fingerprint  # the newest setting's replaced it
    assert len(read_entries(db)[0]) == len(ENTRIES)  # the ledger itself is untouched
    db.close()


async def test_the_equity_curve_pages_through_every_point_the_fold_marked(
    ledger_url: str,
) -> None:
    marked = folded(ENTRIES, state=make_state())
    want: dict[int, Decimal] = {}
    for variant, time_ms, equity, _ in marked.points:
        if variant == "A":
            want[time_ms] = equity  # a point at the same time replaces the one before
    ledger = await ledger_on(ledger_url, every=100)
    await ledger.trading_state(make_state)
    await append_all(ledger, ENTRIES)
    await ledger.stop()  # the last checkpoint stores the last points
    again = await ledger_on(ledger_url)
    got: list[tuple[int, Decimal]] = []
    cursor = None
    while True:
        page, newest = await again.equity_page(Filters("A"), 25, cursor)
        got = page.rows + got
        if page.next is None:
            break
        cursor = page.next
    assert len(want) > 100 and got == sorted(want.items())
    assert newest == max(want)
    window, _ = await again.equity_page(
        Filters("A", since_ms=got[10][0], until_ms=got[20][0]), 5, None
    )
    assert window.rows == got[15:20] and window.next == got[15][0]
    await again.stop()
