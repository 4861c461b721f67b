"""`DATABASE_URL`: what a user writes, what SQLAlchemy is given, and what a log may show.

`sqlite:///data/trading.db` (relative to the working folder), `sqlite:////abs/path.db`, or
`postgresql://user:password@host:port/db`. The password never reaches a log, an error or a
response: everything said about a database names `masked(url)`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.errors import FatalError

DEFAULT_URL = "sqlite:///data/trading.db"
SIMULATED_URL = "sqlite:///data/simulated.db"


class DatabaseUrlError(FatalError):
    """DATABASE_URL cannot be used (wrong scheme, no database named)."""


def parse(raw: str) -> URL:
    """The SQLAlchemy URL for `raw`, with the driver this project installs for it."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise DatabaseUrlError(
            "not a database URL (e.g. sqlite:///data/trading.db or postgresql://user@host/db)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DatabaseUrlError("a SQLite ledger needs a file (sqlite:///data/trading.db)")
        return url.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        if not url.database:
            raise DatabaseUrlError("name the database (postgresql://user@host/DB)")
        return url.set(drivername="postgresql+psycopg")
    raise DatabaseUrlError(f"{backend!r} is not supported: use sqlite:/// or postgresql://")


def masked(url: URL | str) -> str:
    """The URL as it may be shown: the password replaced by ***."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except ArgumentError:
            return "<not a database URL>"
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for another database)."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)
