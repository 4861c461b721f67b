"""The ledger's entries table, read and written (blocking: the callers run these off the event
loop, or before it runs)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Table, func, select
from sqlalchemy.engine import Dialect

from execution.codec import Entry, JournalFormatError, decode
from storage import schema
from storage.database import Database
from storage.outbox import OutboxPolicy
from storage.rows import TYPED_TABLES, entry_row, rows_by_table, typed_rows


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
    """`numbered` entries and their typed rows in one transaction (blocking: an import, a
    bench, a test)."""
    with db.engine.connect() as conn, conn.begin():
        _insert(conn, rows_by_table(numbered))


def commit_entries(
    conn: Connection, numbered: list[tuple[int, Entry]], outbox: OutboxPolicy | None = None
) -> None:
    """The `entries` rows of `numbered`, and the outbox rows of the events they cause, committed
    together (durable: SQLite syncs at this commit); rolled back, and the error raised, if any
    row fails. Their typed rows follow (`commit_typed`)."""
    with conn.begin():
        _insert(conn, [
            (schema.entries, [entry_row(seq, e) for seq, e in numbered]),
            (schema.outbox, outbox.rows(numbered) if outbox is not None else []),
        ])  # fmt: skip


def commit_typed(conn: Connection, numbered: list[tuple[int, Entry]]) -> None:
    """The typed tables' rows of entries already committed. They are derived (a crash before
    this commit leaves them to `project_missing` at the next start), so SQLite commits them
    without a sync of their own: the next ledger commit's sync covers them. Committed on the
    DB-API connection: the ledger's own commits are the ones SQLAlchemy sees."""
    driver = _driver(conn)
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        driver.execute("PRAGMA synchronous=NORMAL")
    try:
        _insert(conn, typed_rows(numbered))
        driver.commit()
    except BaseException:
        driver.rollback()
        raise
    finally:
        if sqlite:
            driver.execute("PRAGMA synchronous=FULL")


def project_missing(db: Database) -> int:
    """Typed rows for the entries a crash left without them (committed, not yet projected:
    those after the newest typed row, as rows are projected in order); how many."""
    with db.engine.connect() as conn:
        projected = max(
            int(conn.execute(select(func.max(t.c.seq))).scalar() or 0) for t in TYPED_TABLES
        )
        numbered = list(iter_entries(conn, projected))
    if numbered:
        with db.engine.connect() as conn, conn.begin():
            _insert(conn, typed_rows(numbered))
    return len(numbered)


def _driver(conn: Connection) -> Any:
    driver = conn.connection.driver_connection
    assert driver is not None  # a live connection has its DB-API connection
    return driver


def _insert(conn: Connection, tables: list[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Rows into their tables on `conn`'s DB-API cursor, in the transaction `conn` is in."""
    cursor = _driver(conn).cursor()
    for table, rows in tables:
        if rows:
            sql, names = _insert_of(conn.dialect, table, tuple(rows[0]))
            cursor.executemany(sql, [_bound(conn.dialect, row, names) for row in rows])


# Each table's INSERT compiled once per dialect and column set: SQLAlchemy Core's work per
# statement cost about 0.4 ms a commit, more than SQLite's commit itself, on the path where an
# order waits for its intent (bench.decision). The rows go to the driver's executemany.
_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[str, ...] | None]] = {}
_MONEY = schema.Money()


def _insert_of(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[str, tuple[str, ...] | None]:
    key = (dialect.name, table.name, columns)
    found = _INSERTS.get(key)
    if found is None:
        compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        order = compiled.positiontup
        found = _INSERTS[key] = (str(compiled), None if order is None else tuple(order))
    return found


def _bound(dialect: Dialect, row: dict[str, Any], names: tuple[str, ...] | None) -> Any:
    """A row's parameters as the driver takes them: money as `Money` binds it (exact text in
    SQLite, Decimal in PostgreSQL); positional for SQLite, named for psycopg."""
    values = {
        k: _MONEY.process_bind_param(v, dialect) if isinstance(v, Decimal) else v
        for k, v in row.items()
    }
    return values if names is None else tuple(values[k] for k in names)


def each_entry(db: Database) -> Iterator[Entry]:
    """Every entry in order, streamed (memory does not grow with the ledger)."""
    with db.engine.connect() as conn:
        streaming = conn.execution_options(stream_results=True, max_row_buffer=2000)
        for _, entry in iter_entries(streaming):
            yield entry
