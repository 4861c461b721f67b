"""`main.py --simulate` restarted on the same journal, and journals that cannot be used:
market time never goes backwards, ids never collide, history survives, bad paths exit 2."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.support import empty_env, free_port
from tests.ledgers import beside, lines_beside
from tests.service.test_e2e import ROOT, wait_healthy

pytestmark = pytest.mark.e2e


def _env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_", "JOURNAL"))
    }


async def _run_until_orders(
    tmp_path: Path, journal: Path, orders: int, name: str
) -> tuple[int, list[dict[str, Any]], str]:
    """Run the simulated service until the journal holds `orders` more filled orders (or a
    minute passes); stop it with SIGINT. Returns the exit code, /signals at the end, its log."""
    port = free_port()
    before = _filled(journal)
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "120", "--seed", "2"]
    cmd += [
        "--port",
        str(port),
        "--journal",
        str(journal),
        "--database",
        beside(journal),
        "--env-file",
        str(empty_env(tmp_path)),
    ]
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, proc, timeout=30)
            for _ in range(600):
                if _filled(journal) >= before + orders:
                    break
                await asyncio.sleep(0.1)
            async with httpx.AsyncClient() as http:
                signals = (await http.get(f"{base}/signals", params={"limit": 1000})).json()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                code = await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()  # never leave a service behind
                code = await asyncio.to_thread(proc.wait, 10)
    return code, signals, log_path.read_text()


def _lines(journal: Path) -> list[dict[str, Any]]:
    return lines_beside(journal)


def _filled(journal: Path) -> int:
    return sum(1 for r in _lines(journal) if r["type"] == "filled")


@pytest.mark.timeout(180)
async def test_a_restarted_simulation_continues_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    code1, signals1, log1 = await _run_until_orders(tmp_path, journal, 2, "first")
    assert code1 == 0, log1[-3000:]
    first = _lines(journal)
    code2, signals2, log2 = await _run_until_orders(tmp_path, journal, 2, "second")
    assert code2 == 0, log2[-3000:]
    second = _lines(journal)[len(first) :]

    assert "the simulated market resumes at" in log2
    # Market time never goes backwards for the journal.
    assert min(r["time"] for r in second) > max(r["time"] for r in first)
    # Client order ids never collide: no "duplicate decision", each id intended once.
    assert "duplicate decision" not in log2
    intents = [r["client_order_id"] for r in first + second if r["type"] == "intent"]
    assert len(intents) == len(set(intents))
    # The new in-process simulator goes on with the journal's account: no reset is declared.
    assert [r["type"] for r in second].count("reset") == 0
    assert "exchange was reset" not in log2
    assert "the simulated account goes on from the ledger" in log2
    # Signal history survives the restart.
    old = {(s["variant"], s["symbol"], s["time_ms"]) for s in signals1}
    new = {(s["variant"], s["symbol"], s["time_ms"]) for s in signals2}
    assert old and old <= new


@pytest.mark.parametrize("make", ["folder", "file in the way"])
def test_a_ledger_that_cannot_be_opened_stops_the_start(tmp_path: Path, make: str) -> None:
    if make == "folder":
        journal = tmp_path / "journal"
        journal.mkdir()
    else:
        (tmp_path / "blocker").write_text("x")
        journal = tmp_path / "blocker" / "journal.jsonl"
    cmd = [sys.executable, "main.py", "--simulate", "--database", f"sqlite:///{journal}"]
    cmd += ["--port", str(free_port()), "--env-file", str(empty_env(tmp_path))]
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DATABASE_URL "), done.stderr
    assert str(journal) in lines[0]
