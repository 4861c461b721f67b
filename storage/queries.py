"""History pages from the ledger's indexes: fills and signals, newest first, by cursor.

A page is the newest `limit` rows older than the cursor (a ledger `seq`; none: from the
newest), filtered by variant, symbol and time; `next` is the cursor of the page after it (None
on the last page). Each row is decoded from its entry's JSON line (execution.codec), so a page
holds exactly what the ledger holds. Blocking: the API runs these off the event loop.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Column, Select, Table, select

from execution.codec import SignalNote, decode
from execution.ledger import Filters, Page
from execution.models import OrderRecord, OrderStatus
from storage import schema
from storage.database import Database
from strategy.models import SignalRaised


def fills_page(db: Database, filters: Filters, limit: int, cursor: int | None) -> Page[OrderRecord]:
    """Filled orders (fill time for the time filters)."""
    t = schema.orders
    query = select(t.c.seq, schema.entries.c.body).join(
        schema.entries, schema.entries.c.seq == t.c.seq
    )
    query = query.where(t.c.status == OrderStatus.FILLED.value)
    query = _filtered(query, t, t.c.fill_time_ms, filters, cursor)
    rows, nxt = _page(db, query.order_by(t.c.seq.desc()).limit(limit + 1), limit)
    out = []
    for body in rows:
        entry = decode(orjson.loads(body))
        assert isinstance(entry, OrderRecord)
        out.append(entry)
    return Page(out, nxt)


def signals_page(
    db: Database, filters: Filters, limit: int, cursor: int | None
) -> Page[SignalRaised]:
    """Signals as the strategy raised them, with their indicator values."""
    t = schema.signals
    query = select(t.c.seq, schema.entries.c.body).join(
        schema.entries, schema.entries.c.seq == t.c.seq
    )
    query = _filtered(query, t, t.c.time_ms, filters, cursor)
    rows, nxt = _page(db, query.order_by(t.c.seq.desc()).limit(limit + 1), limit)
    out = []
    for body in rows:
        entry = decode(orjson.loads(body))
        assert isinstance(entry, SignalNote)
        out.append(entry.signal)
    return Page(out, nxt)


def _filtered(
    query: Select[tuple[int, str]],
    table: Table,
    time_col: Column[Any],
    f: Filters,
    cursor: int | None,
) -> Select[tuple[int, str]]:
    if f.variant is not None:
        query = query.where(table.c.variant == f.variant)
    if f.symbol is not None:
        query = query.where(table.c.symbol == f.symbol)
    if f.since_ms is not None:
        query = query.where(time_col >= f.since_ms)
    if f.until_ms is not None:
        query = query.where(time_col < f.until_ms)
    if cursor is not None:
        query = query.where(table.c.seq < cursor)
    return query


def _page(db: Database, query: Select[tuple[int, str]], limit: int) -> tuple[list[str], int | None]:
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = int(rows[-1][0]) if more and rows else None
    return [body for _, body in reversed(rows)], nxt
