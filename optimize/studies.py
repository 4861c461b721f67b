"""Where `--study NAME` keeps its trials: Optuna's RDB storage beside the project's ledger.

Optuna versions its tables with Alembic in a table named `alembic_version`, as the ledger
does, so the two cannot share one namespace:

- SQLite (`sqlite:///data/trading.db`): the file beside it, `data/trading.optuna.db`;
- PostgreSQL: the same database, in its own schema `optuna` (created when missing), so
  several machines can work on one study.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from storage.url import masked, sqlite_path

SCHEMA = "optuna"


def storage_url(ledger: URL) -> tuple[URL, dict[str, Any]]:
    """(the studies' URL, SQLAlchemy engine options) for the ledger at `ledger`."""
    path = sqlite_path(ledger)
    if path is not None:
        return ledger.set(database=str(path.with_suffix(".optuna.db"))), {}
    return ledger, {"connect_args": {"options": f"-csearch_path={SCHEMA}"}}


def open_storage(ledger: URL) -> Any:
    """Optuna's RDBStorage for the studies of the ledger at `ledger` (the folder or the
    schema made when missing)."""
    import optuna
    from sqlalchemy import create_engine, text

    url, options = storage_url(ledger)
    path = sqlite_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        finally:
            engine.dispose()
    return optuna.storages.RDBStorage(
        url.render_as_string(hide_password=False), engine_kwargs=options
    )


def describe(ledger: URL) -> str:
    """Where the studies are, as a log may say it (no password)."""
    url, options = storage_url(ledger)
    return masked(url) + (f" (schema {SCHEMA})" if options else "")
