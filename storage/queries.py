"""History pages from the ledger's indexes: fills and signals, newest first, by cursor.

A page is the newest `limit` rows older than the cursor (a ledger `seq`; none: from the
newest), filtered by variant, symbol and time; `next` is the cursor of the page after it (None
on the last page). Each row is decoded from its entry's JSON line (execution.codec), so a page
holds exactly what the ledger holds. Blocking: the API runs these off the event loop.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Column, Connection, Select, Table, func, select

from aggregation.models import Candle
from execution.codec import CandleNote, SignalNote, decode
from execution.ledger import Filters, Page
from execution.models import OrderRecord, OrderStatus
from execution.performance import FeeQuote, RoundTrip, TripBook
from storage import schema
from storage.database import Database
from strategy.models import Side, SignalRaised


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


def round_trips_page(
    db: Database, filters: Filters, limit: int, cursor: int | None, fee_quote: FeeQuote
) -> Page[tuple[str, str, RoundTrip]]:
    """Closed round trips (variant, symbol, trip), newest first by their closing fill's seq
    (the cursor), exit time for the time filters. Each trip is paired by
    execution.performance.TripBook from its own fills: those of its (variant, symbol) after
    the previous closing fill and after the last exchange reset, up to its closing fill."""
    o = schema.orders
    filled = o.c.status == OrderStatus.FILLED.value
    exits = select(o.c.seq, o.c.variant, o.c.symbol).where(
        filled, o.c.closing.is_(True), o.c.side == Side.SELL.value
    )
    exits = _filtered(exits, o, o.c.fill_time_ms, filters, None)
    out: list[tuple[str, str, RoundTrip]] = []
    nxt: int | None = None
    with db.engine.connect() as conn:
        before = cursor
        while nxt is None:
            query = exits if before is None else exits.where(o.c.seq < before)
            batch = conn.execute(query.order_by(o.c.seq.desc()).limit(limit)).all()
            for seq, variant, symbol in batch:
                if len(out) == limit:
                    nxt = before  # an older exit exists: the next page starts before it
                    break
                before = int(seq)
                trip = _trip_closed_at(conn, before, variant, symbol, fee_quote)
                if trip is not None:
                    out.append((variant, symbol, trip))
            if len(batch) < limit:
                break  # the oldest exit was read
    out.reverse()
    return Page(out, nxt)


def _trip_closed_at(
    conn: Connection, seq: int, variant: str, symbol: str, fee_quote: FeeQuote
) -> RoundTrip | None:
    o = schema.orders
    mine = (
        o.c.status == OrderStatus.FILLED.value, o.c.variant == variant, o.c.symbol == symbol
    )  # fmt: skip
    previous = conn.execute(
        select(func.max(o.c.seq)).where(*mine, o.c.closing.is_(True), o.c.seq < seq)
    ).scalar()
    reset = conn.execute(
        select(func.max(schema.resets.c.seq)).where(schema.resets.c.seq < seq)
    ).scalar()
    start = max(int(previous or 0), int(reset or 0))
    bodies = conn.execute(
        select(schema.entries.c.body)
        .join(o, o.c.seq == schema.entries.c.seq)
        .where(*mine, o.c.seq > start, o.c.seq <= seq)
        .order_by(o.c.seq)
    ).scalars()
    book = TripBook(fee_quote)
    taken: set[str] = set()
    closed = None
    for body in bodies:
        rec = decode(orjson.loads(body))
        assert isinstance(rec, OrderRecord)
        if rec.client_order_id in taken:
            continue  # a fill the ledger repeats counts once
        taken.add(rec.client_order_id)
        closed = book.add(rec)
    return None if closed is None else closed[1]


def equity_page(
    db: Database, filters: Filters, limit: int, cursor: int | None
) -> tuple[Page[tuple[int, Decimal]], int | None]:
    """A variant's stored equity points (time ms, equity), the newest `limit` before the
    cursor (a time in ms), oldest first; and the newest time stored for the variant at all
    (the points after it are the live ones: storage.checkpoints)."""
    t = schema.equity
    query = select(t.c.time_ms, t.c.equity).where(t.c.variant == filters.variant)
    if filters.since_ms is not None:
        query = query.where(t.c.time_ms >= filters.since_ms)
    if filters.until_ms is not None:
        query = query.where(t.c.time_ms < filters.until_ms)
    if cursor is not None:
        query = query.where(t.c.time_ms < cursor)
    with db.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.c.time_ms.desc()).limit(limit + 1)).all()
        newest = conn.execute(
            select(func.max(t.c.time_ms)).where(t.c.variant == filters.variant)
        ).scalar()
    more = len(rows) > limit
    rows = rows[:limit]
    points = [(int(ms), Decimal(value)) for ms, value in reversed(rows)]
    nxt = points[0][0] if more and points else None
    return Page(points, nxt), None if newest is None else int(newest)


def recent_candles(db: Database, symbol: str, limit: int) -> list[Candle]:
    """The newest `limit` closed 1-minute candles of `symbol`, oldest first (each open time
    once: the newest entry of a minute wins)."""
    t = schema.candles
    newest = (
        select(func.max(t.c.seq).label("seq"))
        .where(t.c.symbol == symbol)
        .group_by(t.c.open_time)
        .order_by(t.c.open_time.desc())
        .limit(limit)
        .subquery()
    )
    query = select(schema.entries.c.body).join(newest, newest.c.seq == schema.entries.c.seq)
    with db.engine.connect() as conn:
        bodies = conn.execute(query).scalars().all()
    out = []
    for body in bodies:
        entry = decode(orjson.loads(body))
        assert isinstance(entry, CandleNote)
        out.append(entry.candle)
    return sorted(out, key=lambda c: c.open_time)


def _filtered(
    query: Select[Any],
    table: Table,
    time_col: Column[Any],
    f: Filters,
    cursor: int | None,
) -> Select[Any]:
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
