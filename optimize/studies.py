"""Where `--study NAME` keeps its trials: Optuna's RDB storage beside the project's ledger.

Optuna versions its tables with Alembic in a table named `alembic_version`, as the ledger
does, so the two cannot share one namespace:

- SQLite (`sqlite:///data/trading.db`): the file beside it, `data/trading.optuna.db`;
- PostgreSQL: the same database, in its own schema `optuna` (created when missing), so
  several machines can work on one study.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from storage.url import masked, sqlite_path

SCHEMA = "optuna"
SQLITE_BUSY_S = 30.0


def storage_url(ledger: URL) -> tuple[URL, dict[str, Any]]:
    """(the studies' URL, SQLAlchemy engine options) for the ledger at `ledger`."""
    path = sqlite_path(ledger)
    if path is not None:
        # A writer waits up to 30 s for a reader (GET /optimizations, a second machine's
        # poll) rather than failing the trial with "database is locked".
        url = ledger.set(database=str(path.with_suffix(".optuna.db")))
        return url, {"connect_args": {"timeout": SQLITE_BUSY_S}}
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
        # WAL (kept in the file): readers never block the optimiser's writes, nor it theirs.
        with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_BUSY_S)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
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
    url, _ = storage_url(ledger)
    shown = url.set(drivername=url.get_backend_name())  # as the user writes it
    return masked(shown) + ("" if sqlite_path(url) is not None else f" (schema {SCHEMA})")


def default_name(now: datetime) -> str:
    """The study name of a run given none: `optimize-20261207T101500` (UTC)."""
    return "optimize-" + now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


class StudyReader:
    """The studies beside a ledger, read-only (GET /optimizations): blocking, so called in a
    thread. Nothing is created: no studies file or schema yet means no study."""

    def __init__(self, ledger: URL) -> None:
        self._ledger = ledger
        self._storage: Any = None

    def _open(self) -> Any:
        if self._storage is not None:
            return self._storage
        from sqlalchemy import create_engine, text

        url, _ = storage_url(self._ledger)
        path = sqlite_path(url)
        if path is not None:
            if not Path(path).is_file():
                return None
        else:
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    found = conn.execute(
                        text("SELECT 1 FROM information_schema.tables"
                             " WHERE table_schema = :s AND table_name = 'studies'"),
                        {"s": SCHEMA},
                    ).first()  # fmt: skip
            finally:
                engine.dispose()
            if found is None:
                return None
        self._storage = open_storage(self._ledger)
        return self._storage

    def summaries(self) -> list[dict[str, Any]]:
        """Every study, newest first: id, name, start, trials, what the run was and its best."""
        import optuna

        storage = self._open()
        if storage is None:
            return []
        out = []
        for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
            report = s.user_attrs.get("report", {})
            out.append(
                {
                    "id": storage.get_study_id_from_name(s.study_name),
                    "name": s.study_name,
                    "started": None if s.datetime_start is None else s.datetime_start.isoformat(),
                    "trials": s.n_trials,
                    "report": {k: v for k, v in report.items() if k != "trials"},
                }
            )
        return sorted(out, key=lambda o: o["id"], reverse=True)

    def detail(self, study_id: int) -> dict[str, Any] | None:
        """One study with every trial (number, state, params, metrics); None: no such id."""
        import optuna

        storage = self._open()
        if storage is None:
            return None
        try:
            name = storage.get_study_name_from_id(study_id)
        except KeyError:
            return None
        study = optuna.load_study(study_name=name, storage=storage)
        trials = [
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "params": t.user_attrs.get("params", t.params),
                "metrics": t.user_attrs.get("metrics"),
            }
            for t in study.get_trials(deepcopy=False)
        ]
        return {"id": study_id, "name": name, "report": study.user_attrs.get("report", {}),
                "trials": trials}  # fmt: skip
