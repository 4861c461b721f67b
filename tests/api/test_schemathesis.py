"""Property-based requests from /openapi.json against the running service: never a 5xx.

The service runs as `python main.py --simulate --speed 60` (a subprocess, so schemathesis'
synchronous client cannot block its event loop). Bounded: a few examples per operation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

from tests.api.support import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 12
pytestmark = pytest.mark.e2e


@pytest.fixture
def service_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
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


@pytest.mark.timeout(120)
def test_no_request_makes_a_server_error(service_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{service_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err raises: a bad schema
        operations += 1

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
            response = case.call(base_url=service_url, timeout=10)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            elif response.status_code >= 400:
                assert "detail" in response.json(), response.text

        check()
    assert operations >= 14
    assert failures == []
