"""The ledger in tests: opened on a real database, and read back as its JSON lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from execution.codec import decode
from execution.ledger import OUTCOMES
from execution.models import OrderRecord, OrderStatus
from storage import schema
from storage.database import Database
from storage.entries import write_entries
from storage.sql import SqlLedger


async def started_ledger(url: str) -> SqlLedger:
    """A started ledger on `url` that closes its database when stopped."""
    ledger = SqlLedger(Database.open(url, exchange=None), owns_db=True)
    await ledger.start()
    return ledger


def ledger_lines(url: str) -> list[dict[str, Any]]:
    """Every entry of the ledger at `url` as its JSON object, in order (a reader: it works
    while a service holds the ledger)."""
    db = Database.open(url, exchange=None, exclusive=False)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(select(schema.entries.c.body).order_by(schema.entries.c.seq))
            return [orjson.loads(body) for (body,) in rows]
    except (OperationalError, ProgrammingError):  # no tables yet: its writer is creating them
        return []
    finally:
        db.close()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder}/ledger.db"


def write_as_crashed(url: str, *objects: dict[str, Any]) -> None:
    """Entries (as their JSON objects) committed after the ledger's last one, as a process
    that died right after writing them would have left them."""
    db = Database.open(url, exchange=None)
    try:
        with db.engine.connect() as conn:
            last = conn.execute(select(func.max(schema.entries.c.seq))).scalar() or 0
        numbered = [(last + i, decode(obj)) for i, obj in enumerate(objects, start=1)]
        write_entries(db, [(seq, e) for seq, e in numbered if e is not None])
    finally:
        db.close()


def beside(journal: Path) -> str:
    """The SQLite ledger URL for a test that names its run by a journal-like path."""
    return f"sqlite:///{journal.with_suffix('.db')}"


def lines_beside(journal: Path) -> list[dict[str, Any]]:
    """The entries of the ledger `beside(journal)` (none before it exists)."""
    if not journal.with_suffix(".db").exists():
        return []
    return ledger_lines(beside(journal))


def service_lines(settings: Any) -> list[dict[str, Any]]:
    """The entries of the ledger a test service's settings name."""
    return ledger_lines(settings.database_url.get_secret_value())


def insert_raw(url: str, *bodies: bytes) -> None:
    """Rows whose JSON bodies are written as given (a damaged ledger, for error tests)."""
    db = Database.open(url, exchange=None)
    try:
        with db.engine.begin() as conn:
            last = conn.execute(select(func.max(schema.entries.c.seq))).scalar() or 0
            for i, body in enumerate(bodies, start=last + 1):
                obj = orjson.loads(body)
                conn.execute(schema.entries.insert().values(
                    seq=i, kind=str(obj.get("type")), time_ms=int(obj.get("time") or 0),
                    body=body.decode(),
                ))  # fmt: skip
    finally:
        db.close()


def orders_in(ledger: Any) -> list[OrderRecord]:
    """Every order record the (started) SqlLedger committed, in ledger order."""
    return [e for e in ledger.records() if isinstance(e, OrderRecord)]


def fills_in(ledger: Any, variant: str | None = None) -> list[OrderRecord]:
    """The filled orders the ledger committed (of `variant`), in ledger order."""
    return [r for r in orders_in(ledger) if r.filled and variant in (None, r.variant)]


def open_intents_in(ledger: Any) -> list[OrderRecord]:
    """Intents the ledger holds no outcome for."""
    orders = orders_in(ledger)
    done = {r.client_order_id for r in orders if r.status in OUTCOMES}
    return [r for r in orders if r.status is OrderStatus.INTENT and r.client_order_id not in done]
