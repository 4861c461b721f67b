"""GET /optimizations and /optimizations/{id} of a running service show what `main.py
optimize` stored beside its ledger, trial for trial as the optimiser wrote them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.api.support import free_port
from tests.conftest import BINANCE_DATA, ROOT
from tests.service.test_e2e import wait_healthy

pytestmark = pytest.mark.e2e

KLINES = BINANCE_DATA / "testnet-btcusdt-2026-06-15" / "klines_1m.json"


@pytest.mark.timeout(180)
async def test_a_service_serves_the_optimiser_runs_beside_its_ledger(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/ledger.db"
    got: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    hook = web.AppRunner(app, handle_signals=False, access_log=None)
    await hook.setup()
    hook_port = free_port()
    await web.TCPSite(hook, "127.0.0.1", hook_port).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    env["NOTIFY_WEBHOOK_URL"] = f"http://127.0.0.1:{hook_port}/hook"
    env.pop("DATABASE_URL", None)
    env.pop("VARIANTS", None)
    (tmp_path / "empty.env").write_text("")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "60", "--port", str(port),
           "--database", database, "--journal", str(tmp_path / "j.jsonl"),
           "--env-file", str(tmp_path / "empty.env")]  # fmt: skip
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            await wait_healthy(base, proc, timeout=60)
            # The container's HEALTHCHECK passes on a live service (tests/test_deploy_files.py).
            check = subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "healthcheck.py"), f"{base}/health"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            assert check.returncode == 0, check.stderr
            async with httpx.AsyncClient(base_url=base) as http:
                assert (await http.get("/optimizations")).json() == []  # none stored yet
                out = tmp_path / "run.json"
                done = subprocess.run(
                    [sys.executable, str(ROOT / "main.py"), "optimize", "--data", str(KLINES),
                     "--symbol", "BTCUSDT", "--param", "ema_period=3,5", "--param",
                     "sma_period=5,20", "--workers", "1", "--study", "mine", "--json", str(out)],
                    cwd=tmp_path, env={**env, "DATABASE_URL": database}, capture_output=True,
                    text=True, timeout=120, check=False,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                doc = json.loads(out.read_text())
                runs = (await http.get("/optimizations")).json()
                assert [r["name"] for r in runs] == ["mine"]
                run = runs[0]
                # 3 trials run, 1 setting refused (EMA 5 is not shorter than SMA 5)
                assert run["trials"] == 3 and run["report"]["skipped"] == 1
                assert run["report"]["best"] == doc["best"]
                assert run["report"]["symbol"] == "BTCUSDT"
                one = (await http.get(f"/optimizations/{run['id']}")).json()
                complete = [t for t in one["trials"] if t["state"] == "complete"]
                assert [{k: t[k] for k in ("number", "params", "metrics")} for t in complete] == (
                    doc["trials"]
                )
                assert len(complete) == len(one["trials"])
                missing = await http.get(f"/optimizations/{run['id'] + 1000}")
                assert missing.status_code == 404 and "GET /optimizations" in missing.text
                assert (await http.get("/optimizations/x")).status_code == 422
                # The service's notifier delivers the run's `optimization` event.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and not _optimizations(got):
                    await asyncio.sleep(0.2)
                (event,) = _optimizations(got)
                assert event["id"] == "optimization-mine" and event["data"]["best"] == doc["best"]
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
            await hook.cleanup()


def _optimizations(got: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in got if e["type"] == "optimization"]
