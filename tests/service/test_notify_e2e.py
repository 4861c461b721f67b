"""Webhooks from a real `main.py --simulate --speed 600` to a real HTTP receiver on loopback.

1. The receiver hangs (every request waits until the client gives up): trading goes on, fills
   keep being written.
2. The service is SIGKILLed, the receiver answers again, the service restarts on its ledger.
3. Every fill the ledger holds arrives, signed as Standard Webhooks signs (checked here with
   hmac), and a delivery made twice carries the same id and the same body.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from execution.models import OrderRecord, OrderStatus
from storage.database import Database
from storage.entries import iter_entries
from tests.api.support import free_port
from tests.conftest import ROOT
from tests.service.test_e2e import wait_healthy

pytestmark = pytest.mark.e2e

SECRET = "whsec_" + base64.b64encode(b"a key the test and the service share").decode()


class Receiver:
    """An HTTP server on loopback that hangs or records, as the test says."""

    def __init__(self) -> None:
        self.hang = True
        self.hung = 0
        self.got: list[tuple[dict[str, str], str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        if self.hang:
            self.hung += 1
            await asyncio.sleep(60)  # the client's timeout (10 s) ends it first
        self.got.append((dict(request.headers), body))
        return web.Response(status=204)


def _verify(headers: dict[str, str], body: str) -> bool:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return headers["webhook-signature"] == f"v1,{expected}"


def _fill_ids(database: str) -> set[str]:
    db = Database.open(database, exchange=None, exclusive=False)
    try:
        with db.engine.connect() as conn:
            return {
                f"fill-{seq}"
                for seq, e in iter_entries(conn)
                if isinstance(e, OrderRecord) and e.status is OrderStatus.FILLED
            }
    finally:
        db.close()


async def _fills(http: httpx.AsyncClient) -> int:
    return len((await http.get("/trades", params={"limit": 10_000})).json())


def _start(
    tmp: Path, port: int, hook: str, database: str, daily: str = "00:00"
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    env.update(NOTIFY_WEBHOOK_URL=hook, NOTIFY_WEBHOOK_SECRET=SECRET, NOTIFY_DAILY_UTC=daily)
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "600", "--seed", "3",
           "--port", str(port), "--database", database, "--journal", str(tmp / "j.jsonl"),
           "--env-file", str(tmp / "empty.env")]  # fmt: skip
    log = (tmp / "service.log").open("ab")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(240)
async def test_webhooks_survive_a_hanging_receiver_and_a_sigkill(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("")
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    hook_port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", hook_port, shutdown_timeout=0.1)
    await site.start()
    hook = f"http://127.0.0.1:{hook_port}/hook"
    database = f"sqlite:///{tmp_path}/ledger.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        proc = _start(tmp_path, port, hook, database)
        try:
            await wait_healthy(base, proc, timeout=60)
            async with httpx.AsyncClient(base_url=base) as http:
                # The receiver hangs; fills go on being made and written.
                await _until(lambda: _positive(http, 2), 90, "two fills while the hook hangs")
                await _until(lambda: _hung(receiver), 30, "the notifier to reach the hook")
                first = await _fills(http)
                assert not receiver.got
                await _until(lambda: _more(http, first), 60, "more fills while it still hangs")
                assert not receiver.got  # nothing delivered yet
                clock_ms = (await http.get("/health")).json()["now_ms"]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=20)
        before_kill = _fill_ids(database)
        assert before_kill
        receiver.hang = False
        # The daily summary a little after the (simulated) clock's time: a few seconds at 600x.
        later = max(clock_ms, int(time.time() * 1000)) + 30 * 60_000
        daily = time.strftime("%H:%M", time.gmtime(later / 1000))
        proc = _start(tmp_path, port, hook, database, daily)
        try:
            await wait_healthy(base, proc, timeout=60)

            async def delivered_all() -> bool:
                got = {h["webhook-id"] for h, _ in receiver.got}
                return before_kill <= got

            await _until(delivered_all, 90, "every fill written before the kill, delivered")
            await asyncio.sleep(2.5)  # health is news once the service has been ok a while
            async with httpx.AsyncClient(base_url=base) as http:
                # A person pauses A (health degrades), then resumes it (health recovers).
                await http.post("/variants/A/pause", json={"reason": "a test"})
                await _until(lambda: _kinds(receiver, "health", 1), 30, "health degraded")
                await http.post("/variants/A/resume")
                await _until(lambda: _kinds(receiver, "health", 2), 30, "health recovered")
            await _until(lambda: _kinds(receiver, "daily", 1), 60, "the daily summary")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    finally:
        await runner.cleanup()
    everything = _fill_ids(database)
    got: dict[str, str] = {}
    for headers, body in receiver.got:
        assert _verify(headers, body), headers
        event = json.loads(body)
        assert event["id"] == headers["webhook-id"]
        if event["id"] in got:
            assert got[event["id"]] == body  # a duplicate is the same event, same id
        got[event["id"]] = body
    fills = {i for i in got if i.startswith("fill-")}
    assert before_kill <= fills <= everything
    assert all(json.loads(got[i])["data"]["symbol"] for i in fills)
    kinds = [json.loads(b) for b in got.values()]
    health = [e["data"]["status"] for e in sorted(kinds, key=lambda e: e["time_ms"])
              if e["type"] == "health"]  # fmt: skip
    assert health[:2] == ["degraded", "ok"]
    assert [e["data"]["action"] for e in kinds if e["type"] == "variant"] == ["pause", "resume"]
    (daily,) = [e for e in kinds if e["type"] == "daily"]
    assert daily["id"] == f"daily-{daily['data']['date']}"
    assert {v["variant"] for v in daily["data"]["variants"]} == {"A", "B"}
    for v in daily["data"]["variants"]:  # as GET /performance shows them
        assert re.fullmatch(r"-?\d+\.\d{2}", v["return_pct"]), v
        assert re.fullmatch(r"-?\d+\.\d{2}", v["max_drawdown_pct"]), v
        for name in ("pnl", "fees", "equity", "day_realized_pnl"):
            assert re.fullmatch(r"-?\d+\.\d{8}", v[name]), (name, v)


async def _hung(receiver: Receiver) -> bool:
    return receiver.hung >= 1


async def _kinds(receiver: Receiver, kind: str, n: int) -> bool:
    found: int = sum(json.loads(b)["type"] == kind for _, b in receiver.got)
    return found >= n


async def _positive(http: httpx.AsyncClient, n: int) -> bool:
    return await _fills(http) >= n


async def _more(http: httpx.AsyncClient, than: int) -> bool:
    return await _fills(http) > than
