"""Which ledger a run uses, opened before anything starts; an older journal imported once.

`--database URL` beats `DATABASE_URL`, which beats the default: `sqlite:///data/trading.db`,
or `sqlite:///data/simulated.db` under `--simulate`/`--simulate-url` (a simulated exchange is
not the testnet: its orders never share a ledger with the testnet's). A ledger that is empty
while the journal file (`--journal`, `JOURNAL_PATH`, or the default for the mode) exists takes
that journal first, and the log says so; the file is left as it was.
"""

from __future__ import annotations

import argparse
import logging

from config import Settings
from core.errors import FatalError
from execution.codec import JournalFormatError
from execution.journal import JournalCorruptError
from storage.database import Database, DatabaseError
from storage.transfer import TransferError, entry_count, import_journal
from storage.url import DEFAULT_URL, SIMULATED_URL

log = logging.getLogger("service")


class LedgerStartError(FatalError):
    """The run cannot start on its ledger: one line for the user."""


def ledger_url(settings: Settings, args: argparse.Namespace) -> str:
    if args.database:
        return str(args.database)
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return SIMULATED_URL if _simulated(args) else DEFAULT_URL


def _simulated(args: argparse.Namespace) -> bool:
    return bool(args.simulate or args.simulate_url)


def open_ledger(settings: Settings, args: argparse.Namespace) -> Database:
    """The run's ledger, claimed and migrated, with the journal imported into it if it was
    empty (blocking: before the event loop starts)."""
    exchange = "simulated" if _simulated(args) else "testnet"
    try:
        db = Database.open(ledger_url(settings, args), exchange=exchange)
    except DatabaseError as exc:
        raise LedgerStartError(str(exc)) from None
    try:
        _import_once(db, settings, args)
    except BaseException:
        db.close()
        raise
    log.debug("ledger: %s", db.name)
    return db


def _import_once(db: Database, settings: Settings, args: argparse.Namespace) -> None:
    path = settings.journal_path
    named = args.journal is not None or "journal_path" in settings.model_fields_set
    if not path.is_file():
        if named:
            log.debug("journal %s: no such file: nothing to import", path)
        return
    held = entry_count(db)
    if held:
        if named:
            log.warning(
                "journal %s not imported: the ledger %s already holds %d entries",
                path,
                db.name,
                held,
            )
        return
    try:
        count, torn = import_journal(db, path)
    except (TransferError, JournalCorruptError, JournalFormatError) as exc:
        raise LedgerStartError(f"JOURNAL_PATH: {exc}; nothing was imported") from None
    for number in torn:
        log.warning("journal %s: line %d is torn (a crash mid-write): skipped", path, number)
    log.info(
        "imported %d entries from the journal %s into the ledger %s (the file is kept; the"
        " ledger is the store from now on)",
        count,
        path,
        db.name,
    )
