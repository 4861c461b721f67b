"""Opening the ledger's database: connect, claim it, migrate it, check what it holds.

`Database.open(url, exchange=...)` is called once before the service starts (blocking: the
event loop is not running yet) and fails with one `DatabaseError` line for each reason the
service must not start on it:

- it cannot be reached or opened (the URL is named with its password masked);
- another running instance holds it (a lock file beside a SQLite file, an advisory lock in
  PostgreSQL, held while this process lives): two instances never share one ledger;
- its schema is newer than this code knows;
- it holds the ledger of another exchange (a simulated one against the testnet, or back).

Schema changes go through Alembic (storage/migrations), in batch mode so one migration serves
SQLite and PostgreSQL. SQLite runs in WAL mode with synchronous=FULL: a committed row survives
a power cut.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from core.errors import FatalError
from storage import schema
from storage.url import DatabaseUrlError, masked, parse, sqlite_path

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# One advisory lock key per PostgreSQL database: "a ledger is in use".
_PG_LOCK_KEY = 0x6C656467  # "ledg"
EXCHANGE_KEY = "exchange"


class DatabaseError(FatalError):
    """The ledger's database cannot be used: the message is one line for the user."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: URL) -> Engine:
    """The engine for a parsed URL (SQLite gets its pragmas on every connection)."""
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def _reason(exc: BaseException) -> str:
    """The driver's own words, on one line (they never carry the URL's password)."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


# The migrations this code knows, oldest first: the start compares the database's revision
# with the newest without loading Alembic (a third of a second of the start); Alembic runs
# only to migrate. tests/storage/test_ledger.py checks this against the scripts.
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
HEAD = REVISIONS[-1]


def _alembic(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _revision(conn: Connection) -> str | None:
    """The database's schema revision (None: an empty database)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


class Database:
    """An open ledger database: its engine, and the claim on it while this process runs."""

    def __init__(self, url: URL, engine: Engine, name: str) -> None:
        self.url = url
        self.engine = engine
        self.name = name  # as the user wrote it, the password masked
        self._lock_fd: int | None = None
        self._lock_conn: Connection | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @classmethod
    def open(cls, raw_url: str, *, exchange: str | None, exclusive: bool = True) -> Database:
        """Connect, claim (unless not `exclusive`: a reader such as `journal export`), migrate
        and check that the ledger is of `exchange` ("simulated" or "testnet"; None: any)."""
        try:
            url = parse(raw_url)
        except DatabaseUrlError as exc:
            raise DatabaseError(f"DATABASE_URL {masked(raw_url)}: {exc}") from None
        name = masked(raw_url.strip())
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"DATABASE_URL {name}: cannot create {path.parent}: {exc.strerror or exc}"
                ) from None
            if path.is_dir():
                raise DatabaseError(f"DATABASE_URL {name}: {path} is a folder, not a file")
        db = cls(url, make_engine(url), name)
        try:
            if exclusive:
                db._claim()
                db._migrate()
            else:
                db._check_schema()  # a reader never migrates: the writer may be doing it now
            if exchange is not None:
                db._check_exchange(exchange)
        except DatabaseError:
            db.close()
            raise
        except (SQLAlchemyError, OSError) as exc:
            db.close()
            raise DatabaseError(f"DATABASE_URL {name}: cannot open it: {_reason(exc)}") from None
        return db

    def close(self) -> None:
        """Release the claim and every connection."""
        if self._lock_conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._lock_conn.close()
            self._lock_conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.engine.dispose()

    # -- at open -----------------------------------------------------------------------------

    def _claim(self) -> None:
        busy = f"DATABASE_URL {self.name}: another running instance uses this ledger"
        path = sqlite_path(self.url)
        if path is not None:
            fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise DatabaseError(f"{busy}: stop it, or give this one its own") from None
            self._lock_fd = fd
            return
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar()
        conn.commit()  # the lock is the session's: it outlives the transaction
        if not got:
            conn.close()
            raise DatabaseError(f"{busy}: stop it, or give this one its own database")
        self._lock_conn = conn

    def _check_schema(self) -> None:
        with self.engine.connect() as conn:
            self._current(conn)

    def _current(self, conn: Connection) -> str | None:
        """The database's revision; a revision this code does not know is refused."""
        current = _revision(conn)
        if current is not None and current not in REVISIONS:
            raise DatabaseError(
                f"DATABASE_URL {self.name}: its schema ({current}) is newer than this"
                f" version of the service knows ({HEAD}): run a newer version"
            )
        return current

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            current = self._current(conn)
            if current != HEAD:
                from alembic import command

                log.debug("ledger %s: schema %s -> %s", self.name, current or "empty", HEAD)
                command.upgrade(_alembic(conn), "head")

    def _check_exchange(self, exchange: str) -> None:
        with self.engine.begin() as conn:
            held = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == EXCHANGE_KEY)
            ).scalar()
            if held is None:
                conn.execute(schema.meta.insert().values(key=EXCHANGE_KEY, value=exchange))
                return
        if held != exchange:
            raise DatabaseError(
                f"DATABASE_URL {self.name}: this ledger holds {held} orders, not {exchange}"
                " ones: give this run its own DATABASE_URL (or --database)"
            )
