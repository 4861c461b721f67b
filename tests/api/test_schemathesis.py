"""Property-based requests from /openapi.json against the running service: every check passes.

The service runs as `python main.py --simulate --speed 60` (a subprocess, so schemathesis'
synchronous client cannot block its event loop). Bounded: a few examples per operation."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.support import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 12
pytestmark = pytest.mark.e2e


ST = Path(sys.executable).with_name("st")  # schemathesis' command, installed beside python
CONFIG = Path(__file__).with_name("schemathesis.toml")
TOKEN = "st-t0ken-" + "k7" * 8


@contextlib.contextmanager
def running_service(tmp_path: Path, token: str | None) -> Iterator[str]:
    """`main.py --simulate --speed 60` in a subprocess (schemathesis' synchronous client must
    not share its event loop), with or without API_TOKEN; its URL once healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    if token is not None:
        env["API_TOKEN"] = token
    env["RESEARCH_DIR"] = str(tmp_path / "research")  # the jobs schemathesis starts
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "60", "--port", str(port)]
    (tmp_path / "empty.env").write_text("")  # no settings file of the developer's
    cmd += ["--journal", str(tmp_path / "journal.jsonl"), "--env-file", str(tmp_path / "empty.env")]
    cmd += ["--database", f"sqlite:///{tmp_path}/ledger.db"]
    log = (tmp_path / "service.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "service did not start"
            try:
                if httpx.get(f"{url}/health", timeout=1).json()["status"] == "ok":
                    break
            except (httpx.TransportError, KeyError, ValueError):
                pass
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        log.close()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("token", [None, TOKEN], ids=["no token", "with a token"])
def test_every_check_of_schemathesis_passes(tmp_path: Path, token: str | None) -> None:
    """`st run --checks all` over every route of /openapi.json: server errors, status codes,
    response schemas and headers, content types, schema-valid requests taken and invalid ones
    refused, missing and wrong auth refused (with a token), and the stateful links. Bounded:
    15 examples per operation, a fixed seed, half a minute at most (each run; the two runs
    cost a fifth of the suite at a minute each)."""
    with running_service(tmp_path, token) as url:
        cmd = [str(ST), "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
               "--checks", "all", "--max-examples", "15", "--seed", "3", "--max-time", "30",
               "--no-color"]  # fmt: skip
        if token is not None:
            cmd += ["-H", f"Authorization: Bearer {token}"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    tail = done.stdout[-4000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "failure" not in tail.lower(), tail
