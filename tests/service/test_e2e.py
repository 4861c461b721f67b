"""`python main.py --simulate --speed 60` as a subprocess: candles every second, signals, orders
and trades of both variants in REST, on /ws and in the journal; SIGINT -> a clean exit 0 within
5 s (nothing in the log after the signal says a part failed to stop or kept running)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.api.support import free_port
from tests.ledgers import beside, lines_beside

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the service exited"
            try:
                r = await http.get(f"{base}/health")
                if r.status_code == 200 and r.json()["status"] == "ok":
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("the service did not become healthy")


@pytest.mark.timeout(90)
async def test_simulated_service_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    journal = tmp_path / "journal.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "60", "--seed", "1"]
    (tmp_path / "empty.env").write_text("")  # no settings file of the developer's
    cmd += [
        "--port",
        str(port),
        "--journal",
        str(journal),
        "--database",
        beside(journal),
        "--env-file",
        str(tmp_path / "empty.env"),
    ]
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, proc)
            messages = await collect_ws(f"ws://127.0.0.1:{port}/ws", seconds_max=30)
            await check_rest(base)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            started = time.monotonic()
            code = await asyncio.to_thread(proc.wait, 10)
            stop_s = time.monotonic() - started
    text = log_path.read_text()
    assert code == 0, text[-3000:]
    assert stop_s < 5.0, f"stopping took {stop_s:.1f}s"
    assert "Traceback" not in text, text[-3000:]
    stopping = text.split("SIGINT received")[-1]
    assert "failed" not in stopping and "still running" not in stopping, text[-3000:]
    check_ws(messages)
    check_journal(journal)


async def collect_ws(url: str, seconds_max: float) -> list[tuple[float, dict[str, Any]]]:
    """Messages with their arrival time, until both variants traded (or the time is up)."""
    got: list[tuple[float, dict[str, Any]]] = []
    traded: set[str] = set()
    deadline = time.monotonic() + seconds_max
    async with connect(url, max_size=None) as ws:
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
            except TimeoutError:
                break
            msg = json.loads(raw)
            got.append((time.monotonic(), msg))
            if msg["type"] == "trade":
                traded.add(msg["data"]["variant"])
            if traded >= {"A", "B"} and len([m for _, m in got if m["type"] == "candle"]) >= 8:
                break
    return got


def check_ws(messages: list[tuple[float, dict[str, Any]]]) -> None:
    assert messages[0][1]["type"] == "snapshot"
    seqs = [m["seq"] for _, m in messages]
    assert seqs == list(range(1, len(seqs) + 1))
    by_type: defaultdict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for at, m in messages:
        by_type[m["type"]].append((at, m))
    for kind in ("signal", "order", "trade", "position", "candle", "candle_update"):
        assert by_type[kind], f"no {kind} on /ws"
    for kind in ("signal", "trade"):
        assert {m["data"]["variant"] for _, m in by_type[kind]} >= {"A", "B"}, kind
    # A market minute per real second: BTCUSDT candles about one second apart, no minute skipped.
    btc = [(at, m["data"]) for at, m in by_type["candle"] if m["data"]["symbol"] == "BTCUSDT"]
    opens = [d["open_time"] for _, d in btc]
    assert all(b - a == 60_000 for a, b in pairwise(opens)), opens
    if len(btc) >= 4:
        mean_gap = (btc[-1][0] - btc[1][0]) / (len(btc) - 2)
        assert 0.5 < mean_gap < 2.0, mean_gap


async def check_rest(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        signals = (await http.get("/signals", params={"limit": 1000})).json()
        trades = (await http.get("/trades", params={"limit": 1000})).json()
        candles = (await http.get("/candles/BTCUSDT", params={"limit": 5})).json()
    assert {s["variant"] for s in signals} >= {"A", "B"}
    assert {t["variant"] for t in trades} >= {"A", "B"}
    assert len(candles["candles"]) == 5


def check_journal(path: Path) -> None:
    records = lines_beside(path)
    filled = [r for r in records if r["type"] == "filled"]
    assert {r["variant"] for r in filled} >= {"A", "B"}
    intents = {r["client_order_id"] for r in records if r["type"] == "intent"}
    assert {r["client_order_id"] for r in filled} <= intents  # every fill was an intent first
