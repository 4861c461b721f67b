"""Soak: a simulated week against a standalone simulator, with faults, SIGKILLs and a reset.

.venv/bin/python -m bench.soak            (about 8 minutes; loopback only; stops by itself)

The simulator (`python -m simulator`, a subprocess) runs a week of market time in `--real-s`
real seconds, with hung orders, 5xx and 429 on /api/v3/order (every method) and /api/v3/time,
and a server clock that drifts. The service (`main.py --simulate-url`) is SIGKILLed and
restarted `--kills` times on the same ledger (`--database URL`, default a SQLite file in a
temporary folder; PostgreSQL: an empty database), once around a testnet reset (POST
/sim/reset). Kills aim at orders in flight: late in each interval the service dies as soon as
the ledger gets a new intent (its order on the way, or answered and not yet in the ledger).
Along the way /health, /strategy and /positions are polled and both processes' RSS sampled.
At the end the service restarts once more on periods that never warm up (no new crossovers),
settles its open intents, and its REST is compared with the exchange's own orders and fills,
recomputed independently in bench/soak_truth.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from binance import AsyncClient
from sqlalchemy import func, select

from bench.soak_report import Sample, report
from bench.soak_truth import JournalView, Snapshot, lot_steps
from storage import schema
from storage.database import Database

ROOT = Path(__file__).resolve().parents[1]
SYMBOLS = ("BTCUSDT", "ETHUSDT")
WEEK_MS = 7 * 24 * 3_600_000
KEY, SECRET = "sim-api-key", "sim-api-secret"  # the standalone simulator's local defaults
POLL_S = 0.5
QUIET = {"EMA_PERIOD": "9999", "SMA_PERIOD": "10000"}  # never ready: no new crossovers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


@dataclass
class Run:
    """Everything the soak measured, handed to the report."""

    speed: float
    start_ms: int = 0
    kills: int = 0
    kills_in_flight: int = 0  # SIGKILLs while the journal held an intent without an outcome
    phases: dict[str, float] = field(default_factory=dict)
    starts: list[float] = field(default_factory=list)  # real seconds until /health answered
    samples: list[Sample] = field(default_factory=list)
    snaps: list[Snapshot] = field(default_factory=list)
    reset_ms: int | None = None
    reset_note: str = "not done"
    final: dict[str, Any] = field(default_factory=dict)
    sim_stats: dict[str, int] = field(default_factory=dict)
    settle_note: str = ""
    log_counts: dict[str, int] = field(default_factory=dict)


class Soak:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.ledger = args.database or f"sqlite:///{tmp}/ledger.db"
        self.journal = tmp / "journal.jsonl"  # the ledger exported at the end (--keep)
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.sim: asyncio.subprocess.Process | None = None
        self.service: asyncio.subprocess.Process | None = None
        self.sim_url = ""
        self.run = Run(speed=WEEK_MS / 1000 / args.real_s)
        self.rng = random.Random(args.seed)
        self.generation = 0

    # -- processes -----------------------------------------------------------------------------

    async def start_sim(self) -> None:
        a, speed = self.args, self.run.speed
        cmd = [
            sys.executable, "-m", "simulator", "--port", "0", "--speed", f"{speed:.3f}",
            "--seed", str(a.seed), "--symbols", ",".join(SYMBOLS), "--trade-rate", "0.25",
            "--order-hang", "0.03", "--order-hang-s", "3", "--server-errors", "0.05",
            "--rate-limit", "0.03", "--retry-after", "1", "--rest-faults-on", "all",
            "--rest-fault-paths", "order,time", "--clock-drift", str(a.drift),
            "--log-level", "WARNING",
        ]  # fmt: skip
        log = (self.tmp / "simulator.log").open("ab")
        self.sim = await asyncio.create_subprocess_exec(
            *cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=log
        )
        assert self.sim.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            line = await asyncio.wait_for(self.sim.stdout.readline(), 30)
            if not line:
                raise RuntimeError("the simulator exited: see simulator.log")
            banner += line.decode()
        found = re.search(r"simulator on (http://\S+)", banner)
        assert found, banner
        self.sim_url = found.group(1)

    async def start_service(self, quiet: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
        env.update(LOG_LEVEL="WARNING", **(QUIET if quiet else {}))
        if self.args.max_orders_per_day:
            env["RISK_MAX_ORDERS_PER_DAY"] = str(self.args.max_orders_per_day)
        cmd = [sys.executable, "main.py", "--simulate-url", self.sim_url, "--port"]
        cmd += [str(self.port), "--database", self.ledger]
        (self.tmp / "empty.env").write_text("")  # not the developer's .env
        cmd += ["--env-file", str(self.tmp / "empty.env")]
        log = (self.tmp / "service.log").open("ab")
        began = time.monotonic()
        self.service = await asyncio.create_subprocess_exec(
            *cmd, cwd=ROOT, env=env, stdout=log, stderr=log
        )
        self.generation += 1
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() - began < 60:
                if self.service.returncode is not None:
                    raise RuntimeError("the service exited at start: see service.log")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.api}/health")).status_code == 200:
                        self.run.starts.append(time.monotonic() - began)
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError("the service did not answer /health within 60 s")

    async def kill_service(self) -> None:
        if self.service is not None and self.service.returncode is None:
            self.service.send_signal(signal.SIGKILL)
            await self.service.wait()
            self.run.kills += 1
            self.run.kills_in_flight += bool(JournalView.read_ledger(self.ledger).open_intents())
        self.service = None

    async def stop_all(self) -> None:
        for proc in (self.service, self.sim):
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()

    # -- observing -------------------------------------------------------------------------------

    async def sim_info(self, http: httpx.AsyncClient) -> dict[str, Any]:
        info: dict[str, Any] = (await http.get(f"{self.sim_url}/sim/info")).json()
        return info

    async def market_ms(self, http: httpx.AsyncClient) -> int:
        return int((await http.get(f"{self.sim_url}/sim/clock")).json()["now_ms"])

    async def poll(self, http: httpx.AsyncClient) -> None:
        sample = Sample(
            real_s=time.monotonic(),
            generation=self.generation,
            market_ms=await self.market_ms(http),
            service_rss=rss_mb(self.service.pid if self.service else None),
            sim_rss=rss_mb(self.sim.pid if self.sim else None),
        )
        with contextlib.suppress(httpx.HTTPError, ValueError):
            health = (await http.get(f"{self.api}/health")).json()
            strategy = (await http.get(f"{self.api}/strategy")).json()
            sample.health_status = str(health.get("status"))
            feeds = health.get("symbols", {})
            sample.feeds_live = bool(feeds) and all(
                f.get("status") == "live" for f in feeds.values()
            )
            sample.reasons = [str(r) for r in health.get("reasons", [])]
            sample.states = {
                str(v.get("name")): (v.get("state"), v.get("state_reason"))
                for v in strategy.get("variants", [])
            }
            sample.answered = True
        self.run.samples.append(sample)

    async def new_intent_within(self, seconds: float) -> bool:
        """Watch the ledger for `seconds` (every 5 ms): True as soon as an intent is
        committed, i.e. while its order is on the way or just answered."""
        db = Database.open(self.ledger, exchange=None, exclusive=False)
        newest = select(func.max(schema.entries.c.seq)).where(schema.entries.c.kind == "intent")
        try:
            with db.engine.connect() as conn:
                before = conn.execute(newest).scalar()
                conn.commit()
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                    if conn.execute(newest).scalar() != before:
                        return True
                    conn.commit()  # a new snapshot for the next look
            return False
        finally:
            db.close()

    # -- the run ---------------------------------------------------------------------------------

    async def main(self) -> Run:
        began = time.monotonic()
        await self.start_sim()
        self.run.phases["simulator start"] = time.monotonic() - began
        async with httpx.AsyncClient(timeout=3.0) as http:
            self.run.start_ms = await self.market_ms(http)
            end_ms = self.run.start_ms + WEEK_MS
            step = WEEK_MS // (self.args.kills + 1)
            reset_at = self.args.kills // 2  # the reset comes with this kill
            await self.start_service()
            for n in range(self.args.kills):
                due = self.run.start_ms + (n + 1) * step
                aim_from = due - int(step * self.rng.uniform(0.2, 0.5))
                while True:
                    await self.poll(http)
                    now = self.run.samples[-1].market_ms
                    if now >= due:
                        break
                    if now < aim_from:
                        await asyncio.sleep(POLL_S)
                    elif await self.new_intent_within(POLL_S):
                        break
                await self.kill_service()
                if n == reset_at:
                    await self.reset(http)
                await self.start_service()
            while (await self.market_ms(http)) < end_ms:
                await self.poll(http)
                await asyncio.sleep(POLL_S)
            await self.kill_service()
            self.run.phases["the week"] = time.monotonic() - began - sum(self.run.phases.values())
            await self.settle(http)
            self.run.phases["settle and read"] = (
                time.monotonic() - began - sum(self.run.phases.values())
            )
            self.run.sim_stats = (await self.sim_info(http)).get("stats", {})
        return self.run

    async def reset(self, http: httpx.AsyncClient) -> None:
        """The exchange before the reset is the truth of the fills it wipes: read it while no
        service runs, then reset."""
        async with self.exchange() as client:
            self.run.snaps.append(await Snapshot.take(client, SYMBOLS))
        resp = await http.post(f"{self.sim_url}/sim/reset")
        if resp.status_code == 200:
            self.run.reset_ms = await self.market_ms(http)
            self.run.reset_note = "done"
        else:  # the control is not in this simulator: one epoch only
            self.run.snaps.clear()
            self.run.reset_note = f"NOT DONE: POST /sim/reset answered {resp.status_code}"

    async def settle(self, http: httpx.AsyncClient) -> None:
        """One last start without new crossovers; wait until the journal has no open intent,
        then read the service and the exchange, again until two reads agree."""
        await self.start_service(quiet=True)
        began = time.monotonic()
        while time.monotonic() - began < 60:
            await self.poll(http)
            if (
                self.run.samples[-1].feeds_live
                and not JournalView.read_ledger(self.ledger).open_intents()
            ):
                break
            await asyncio.sleep(POLL_S)
        else:
            self.run.settle_note = "open intents or feeds not live after 60 s"
        async with self.exchange() as client:
            steps = await lot_steps(client, SYMBOLS)
            for _ in range(10):
                lines = len(JournalView.read_ledger(self.ledger).records)
                before = (await http.get(f"{self.api}/positions")).json()
                snap = await Snapshot.take(client, SYMBOLS)
                after = (await http.get(f"{self.api}/positions")).json()
                strategy = (await http.get(f"{self.api}/strategy")).json()
                health = (await http.get(f"{self.api}/health")).json()
                if before == after and lines == len(JournalView.read_ledger(self.ledger).records):
                    break
        self.run.snaps.append(snap)
        self.run.final = {
            "positions": after, "strategy": strategy, "health": health, "steps": steps,
            "service_rss": rss_mb(self.service.pid if self.service else None),
        }  # fmt: skip

    @contextlib.asynccontextmanager
    async def exchange(self) -> Any:
        client = AsyncClient(KEY, SECRET, testnet=True, requests_params={"timeout": 5})
        client.API_TESTNET_URL = f"{self.sim_url}/api"
        try:
            yield client
        finally:
            await client.close_connection()


async def amain(args: argparse.Namespace) -> int:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        soak = Soak(args, Path(tmp))
        try:
            run = await soak.main()
        finally:
            await soak.stop_all()
            if args.keep:
                export = [sys.executable, "main.py", "journal", "export", "--out",
                          str(soak.journal), "--database", soak.ledger]  # fmt: skip
                proc = await asyncio.create_subprocess_exec(*export, cwd=ROOT)
                await proc.wait()
                for name in ("journal.jsonl", "service.log", "simulator.log"):
                    src = Path(tmp) / name
                    if src.exists():
                        (Path(args.keep) / name).write_bytes(src.read_bytes())
        journal = JournalView.read_ledger(soak.ledger)
        text = (Path(tmp) / "service.log").read_text(errors="replace")
        run.log_counts = {
            "late": text.count("late trade"),
            "error": text.count(" ERROR "),
            "traceback": text.count("Traceback"),
        }
    ok = report(run, journal, time.monotonic() - began)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-s", type=float, default=420.0, help="real seconds for the week")
    parser.add_argument("--kills", type=int, default=21, help="SIGKILLs and restarts (>= 20)")
    parser.add_argument(
        "--drift",
        type=float,
        default=1500.0,
        help="the server clock gains this many ms per market second: a 10 s (real) recvWindow"
        " is gone 6.7 s after a time sync",
    )
    parser.add_argument(
        "--max-orders-per-day",
        type=int,
        default=12,
        help="RISK_MAX_ORDERS_PER_DAY of the service, low so that variants do hit a risk limit"
        " and the halted-state check is exercised (0: the service's default)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", default=None, help="copy journal and logs to this folder")
    parser.add_argument(
        "--database", default=None, metavar="URL",
        help="the service's ledger (default: a SQLite file in the temporary folder)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
