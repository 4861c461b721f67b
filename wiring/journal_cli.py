"""`python main.py journal export|import`: the ledger as JSON lines, out and in.

    python main.py journal export --out FILE [--database URL] [--simulate]
    python main.py journal import FILE [--database URL] [--simulate]

The ledger is `--database`, else `DATABASE_URL`, else the default (`sqlite:///data/trading.db`;
with `--simulate`, the simulated one). An export reads a consistent snapshot and works while the
service runs; an import needs an empty ledger that no running service holds, and imports all
or nothing. Exit codes: 0 done, 2 with one line on stderr naming what is wrong.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from config import SettingsError, load_settings
from execution.codec import JournalFormatError
from execution.journal import JournalCorruptError, journal_problem
from storage.database import Database, DatabaseError
from storage.transfer import TransferError, export_journal, import_journal
from storage.url import (
    DEFAULT_URL,
    SIMULATED_URL,
    DatabaseUrlError,
    masked,
    parse,
    sqlite_path,
)

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="journal_action", metavar="ACTION", required=True)
    out = actions.add_parser("export", help="write the ledger as JSON lines")
    out.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write")
    into = actions.add_parser("import", help="load a JSON-lines journal into an empty ledger")
    into.add_argument("file", type=Path, metavar="FILE", help="the journal to load")
    for sub in (out, into):
        sub.add_argument("--database", metavar="URL", help="the ledger (overrides DATABASE_URL)")
        sub.add_argument(
            "--simulate", action="store_true", help="the --simulate ledger (its default URL)"
        )
        sub.add_argument("--env-file", default=".env", metavar="FILE", help="settings file")


def _url(args: argparse.Namespace) -> str:
    if args.database:
        return str(args.database)
    settings = load_settings(args.env_file)
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return SIMULATED_URL if args.simulate else DEFAULT_URL


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        url = _url(args)
        exporting = args.journal_action == "export"
        if exporting:
            problem = journal_problem(args.out)
            if problem is not None:
                raise TransferError(problem)
        path = sqlite_path(parse(url)) if url.startswith("sqlite") else None
        if exporting and path is not None and not path.is_file():
            raise TransferError(f"{url}: no such ledger file")
        db = Database.open(url, exchange=None, exclusive=not exporting)
        try:
            if exporting:
                count = export_journal(db, args.out)
                sys.stderr.write(f"exported {count} entries from {db.name} to {args.out}\n")
            else:
                count, torn = import_journal(db, args.file)
                for number in torn:
                    sys.stderr.write(f"line {number} is torn (a crash mid-write): skipped\n")
                sys.stderr.write(f"imported {count} entries from {args.file} into {db.name}\n")
        finally:
            db.close()
    except (SettingsError, DatabaseError, DatabaseUrlError, TransferError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except SQLAlchemyError as exc:  # e.g. a file that is not a ledger (no tables)
        reason = " ".join(str(getattr(exc, "orig", exc)).split())
        sys.stderr.write(f"error: {masked(url)}: not a ledger that can be read: {reason}\n")
        return 2
    except (JournalFormatError, JournalCorruptError) as exc:
        sys.stderr.write(f"error: {exc}; nothing was imported\n")
        return 2
    return 0
