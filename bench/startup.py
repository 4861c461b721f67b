"""Start-up with a long history: the real service (`main.py`, its own process) on a ledger of
N filled round trips, against a standalone simulator (`python -m simulator`, another process).

Prints, for the database given (default: a SQLite file in a temporary folder):
- the seconds from launching `main.py` until `/health` answers, and until the ledger is
  recovered (the trading state folded: `/health` no longer says "connecting to the exchange");
- the service's RSS then, against the same start on an empty ledger;
- each both without a checkpoint (the first start after an import: every entry folded, then a
  checkpoint written) and with one (every later start), as the service's own checkpointer
  (storage.checkpoints.advance) leaves it.

    .venv/bin/python -m bench.startup --round-trips 500000 [--database URL]

A PostgreSQL URL must name an empty database (createdb startup_bench); the bench empties it
between runs by dropping its tables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import MetaData, inspect, text

from bench.ledger_load import write_round_trips
from bench.soak import free_port, rss_mb
from config import load_settings
from execution.trading_state import TradingState
from storage.checkpoints import advance
from storage.database import Database, make_engine
from storage.url import parse

ROOT = Path(__file__).resolve().parent.parent
CONNECTING = "connecting to the exchange"


def build(url: str, round_trips: int) -> int:
    """The ledger with `round_trips` filled round trips (intent and fill of each order)."""
    db = Database.open(url, exchange=None)
    try:
        return write_round_trips(db, round_trips)
    finally:
        db.close()


def checkpoint(url: str) -> float:
    """What the service's checkpointer leaves: a checkpoint at the newest entry (seconds)."""
    settings = load_settings(env_file=None)
    variants = [v.name for v in settings.variant_settings]
    began = time.perf_counter()
    db = Database.open(url, exchange=None)
    advance(
        db,
        lambda: TradingState(
            variants, settings.variant_capital, lambda s: ("BTC", "USDT", Decimal("0.00001"))
        ),
    )
    db.close()
    return time.perf_counter() - began


def empty(url: str) -> None:
    """Drop every table of the ledger's database."""
    engine = make_engine(parse(url))
    with engine.begin() as conn:
        meta = MetaData()
        meta.reflect(conn)
        meta.drop_all(conn)
        if "alembic_version" in inspect(conn).get_table_names():
            conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()


async def start_simulator(tmp: Path) -> tuple[asyncio.subprocess.Process, str]:
    cmd = [sys.executable, "-m", "simulator", "--port", "0", "--log-level", "WARNING"]
    sim = await asyncio.create_subprocess_exec(
        *cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=(tmp / "sim.log").open("ab")
    )
    assert sim.stdout is not None
    banner = ""
    while "Ctrl-C" not in banner:
        line = await asyncio.wait_for(sim.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the simulator exited: see sim.log")
        banner += line.decode()
    found = re.search(r"simulator on (http://\S+)", banner)
    assert found, banner
    return sim, found.group(1)


async def start_once(url: str, sim_url: str, tmp: Path) -> tuple[float, float, float | None]:
    """Launch main.py; (s to /health, s to the ledger recovered, RSS MB then); stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    env["LOG_LEVEL"] = "WARNING"
    (tmp / "empty.env").write_text("")
    cmd = [sys.executable, "main.py", "--simulate-url", sim_url, "--port", str(port)]
    cmd += ["--database", url, "--env-file", str(tmp / "empty.env")]
    log = (tmp / "service.log").open("ab")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
    first = ready = 0.0
    rss: float | None = None
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            while time.monotonic() - began < 600:
                if proc.returncode is not None:
                    raise RuntimeError("the service exited at start: see service.log")
                with contextlib.suppress(httpx.HTTPError):
                    health = await http.get(f"http://127.0.0.1:{port}/health")
                    if health.status_code == 200:
                        first = first or time.monotonic() - began
                        reasons = " ".join(health.json()["reasons"])
                        if CONNECTING not in reasons:
                            ready = time.monotonic() - began
                            rss = rss_mb(proc.pid)
                            break
                await asyncio.sleep(0.02)
    finally:
        proc.send_signal(2)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    if not ready:
        raise RuntimeError("the ledger was not recovered within 600 s: see service.log")
    return first, ready, rss


async def amain(round_trips: int, url: str, tmp: Path) -> None:
    sim, sim_url = await start_simulator(tmp)
    try:
        empty(url)
        _, ready0, rss0 = await start_once(url, sim_url, tmp)
        print(f"empty ledger: recovered in {ready0:.2f} s, RSS {rss0:.0f} MB")
        empty(url)
        began = time.perf_counter()
        entries = build(url, round_trips)
        print(
            f"ledger {url.split('@')[-1]}: {entries:,} entries, {2 * round_trips:,} fills,"
            f" written in {time.perf_counter() - began:.0f} s"
        )
        first, ready, rss = await start_once(url, sim_url, tmp)
        print(
            f"first start, no checkpoint (every entry folded, then one written): /health in"
            f" {first:.2f} s, recovered in {ready:.2f} s, RSS {rss:.0f} MB"
        )
        # The stop just wrote a checkpoint; a fresh one is made the checkpointer's way too.
        spent = checkpoint(url)
        print(f"checkpoint by the checkpointer's fold: {spent:.2f} s")
        for n in (1, 2):
            first, ready, rss = await start_once(url, sim_url, tmp)
            extra = (rss or 0) - (rss0 or 0)
            print(
                f"start {n} with a checkpoint: /health in {first:.2f} s, recovered in"
                f" {ready:.2f} s, RSS {rss:.0f} MB ({extra:+.0f} MB against the empty ledger)"
            )
    finally:
        sim.send_signal(2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sim.wait(), 10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(
            amain(args.round_trips, args.database or f"sqlite:///{folder}/ledger.db", Path(folder))
        )
