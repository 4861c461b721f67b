"""Real databases for the ledger's tests: a SQLite file, and a real PostgreSQL server.

`postgres_server` is the server named by `TEST_DATABASE_URL` when set, else a throwaway
cluster this test run makes with the installed binaries (initdb, pg_ctl) on a free loopback
port, run as the `postgres` user when the tests run as root (the server refuses root), and
stopped at the end. Without PostgreSQL installed the tests fail, never skip: `.ci/run`
installs Debian's `postgresql` package. `ledger_url` is a fresh, empty database of each kind.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

KINDS = ("sqlite", "postgresql")


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        pytest.fail(
            "PostgreSQL is not installed (no initdb): `apt-get install postgresql`, or set"
            " TEST_DATABASE_URL to a server the tests may create databases on"
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as_postgres(args: list[str]) -> None:
    """Run a server binary, as the `postgres` user when we are root."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    subprocess.run(args, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server URL (no database part) on which tests create databases."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield make_url(given).set(database="postgres").render_as_string(hide_password=False)
        return
    bindir = _bindir()
    folder = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, port = folder / "data", _free_port()
    _run_as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync"])  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    _run_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                      "-l", str(folder / "server.log"), "-w", "start"])  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            _run_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


def _admin(server: str) -> psycopg.Connection:
    url = make_url(server)
    return psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password,
        dbname=url.database or "postgres", autocommit=True,
    )  # fmt: skip


@contextlib.contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A new, empty database on `server`, dropped afterwards."""
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=KINDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    server = request.getfixturevalue("postgres_server")
    with postgres_database(server) as url:
        yield url
