"""JSON lines in and out of the ledger: `journal import`, `journal export`, and the first start
on a database beside an existing `JOURNAL_PATH` file.

An import is all or nothing: a line of the wrong shape is named with its line number and
nothing is imported, and only an empty ledger takes one (a second import would repeat every
order). An export writes the ledger's lines in order to a new file (a temporary file renamed
at the end), reading one consistent snapshot while the service goes on writing.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from core.errors import FatalError
from execution.journal import read_journal
from storage import schema
from storage.database import Database
from storage.entries import write_entries


class TransferError(FatalError):
    """An import or export that cannot be done (the message names why)."""


def entry_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.entries)).scalar() or 0)


def import_journal(db: Database, path: Path) -> tuple[int, list[int]]:
    """Load the journal at `path` into the empty ledger `db`: (entries, torn lines skipped).
    Blocking."""
    try:
        entries, torn = read_journal(path)
    except FileNotFoundError:
        raise TransferError(f"{path}: no such file") from None
    except OSError as exc:
        raise TransferError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    held = entry_count(db)
    if held:
        raise TransferError(f"{db.name} already holds {held} entries: import into an empty ledger")
    write_entries(db, list(enumerate(entries, start=1)))
    return len(entries), torn


def export_journal(db: Database, out: Path) -> int:
    """Write every entry of `db` as JSON lines to `out`; returns how many. Blocking."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    count = 0
    with db.engine.connect() as conn, tmp.open("wb") as fh:
        rows = conn.execute(select(schema.entries.c.body).order_by(schema.entries.c.seq)).yield_per(
            5000
        )
        for (body,) in rows:
            fh.write(body.encode() + b"\n")
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(out)
    return count
