"""Checkpoints of the trading state (execution.trading_state) in the ledger's database.

A checkpoint is the state's JSON as of entry `seq`. The start restores the newest one made
with the same fingerprint and folds only the entries after it; the ledger writes the next one
off the event loop every `CHECKPOINT_EVERY` entries and at stop, so the start reads at most
about that many entries however long the history. The newest `KEEP` are kept. The equity
points the fold marks go into the `equity` table with them: the curve's history pages
(storage.queries.equity_page); the points after the newest checkpoint are the live ones.

A checkpoint is a cache of the fold: one that cannot be read (another format, another
fingerprint, a damaged body) is passed over and said in the log, and the start folds from the
first entry instead, as before there were checkpoints. Blocking: run these off the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from execution.codec import JournalFormatError
from execution.trading_state import TradingState
from storage import schema
from storage.database import Database
from storage.entries import iter_entries

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 10_000
KEEP = 2
POINTS_BATCH = 20_000


def save_points(db: Database, state: TradingState) -> None:
    """The equity points `state` marked (then forgotten by it); a point already stored for
    that variant and time is replaced (a fold of the same entries marks the same point)."""
    if not state.points:
        return
    with db.engine.begin() as conn:
        store_points(conn, state)


def store_points(conn: Connection, state: TradingState) -> None:
    if not state.points:
        return
    t = schema.equity
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows = {(v, time_ms): (e, seq) for v, time_ms, e, seq in state.points}  # newest wins
    statement = insert(t)
    statement = statement.on_conflict_do_update(
        index_elements=[t.c.variant, t.c.time_ms],
        set_={"equity": statement.excluded.equity, "seq": statement.excluded.seq},
    )
    conn.execute(
        statement,
        [
            {"variant": v, "time_ms": ms, "equity": e, "seq": seq}
            for (v, ms), (e, seq) in rows.items()
        ],
    )
    state.points = []


def restored(conn: Connection, make_state: Callable[[], TradingState]) -> TradingState:
    """A state from the newest usable checkpoint, else an empty one."""
    t = schema.checkpoints
    probe = make_state()
    rows = conn.execute(
        select(t.c.seq, t.c.body)
        .where(t.c.fingerprint == probe.fingerprint)
        .order_by(t.c.seq.desc())
    )
    for seq, body in rows:
        state = make_state()
        try:
            state.restore(orjson.loads(body))
        except (ValueError, KeyError, TypeError, AssertionError, JournalFormatError) as exc:
            log.warning("checkpoint at entry %d is not usable (%s): passed over", seq, exc)
            continue
        return state
    return probe


def fold(db: Database, make_state: Callable[[], TradingState]) -> TradingState:
    """The state as of the newest committed entry: from the newest usable checkpoint, then
    every entry after it, streamed (memory does not grow with them)."""
    with db.engine.connect() as conn:
        state = restored(conn, make_state)
        streaming = conn.execution_options(stream_results=True, max_row_buffer=2000)
        for seq, entry in iter_entries(streaming, state.seq):
            state.apply(seq, entry)
            if len(state.points) >= POINTS_BATCH:
                save_points(db, state)
    return state


def save(db: Database, state: TradingState) -> None:
    """`state` as the newest checkpoint, with the equity points it marked; older ones beyond
    `KEEP` go."""
    t = schema.checkpoints
    body = orjson.dumps(state.snapshot()).decode()
    with db.engine.begin() as conn:
        store_points(conn, state)
        conn.execute(delete(t).where(t.c.seq == state.seq))  # one of this point is replaced
        e = schema.entries
        at = conn.execute(select(e.c.time_ms).where(e.c.seq == state.seq)).scalar() or 0
        conn.execute(
            t.insert().values(
                seq=state.seq, time_ms=int(at), fingerprint=state.fingerprint, body=body
            )
        )
        kept = conn.execute(select(t.c.seq).order_by(t.c.seq.desc()).limit(KEEP)).scalars()
        conn.execute(delete(t).where(t.c.seq.not_in(list(kept))))


def advance(db: Database, make_state: Callable[[], TradingState]) -> int:
    """A new checkpoint at the newest committed entry, from the newest one before it; the
    seq it is at (blocking, off the event loop: the live state is not touched)."""
    state = fold(db, make_state)
    if state.entries:
        save(db, state)
    return state.seq
