"""The dashboard's browser tests share one service subprocess per module and one Chromium."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    CHROMIUM,
    ROOT,
    TOKEN,
    Service,
    check_opened_pages,
    free_port,
)
from tests.ledgers import beside


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    env = {
        **os.environ,
        "JOURNAL_PATH": str(tmp / "trades.jsonl"),
        "DATABASE_URL": beside(tmp / "trades.jsonl"),
        "API_TOKEN": TOKEN,
        "RESEARCH_DIR": str(tmp / "research"),
        "LOG_LEVEL": "WARNING",
    }
    log = tmp / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--simulate", "--speed", "60", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    svc = Service(f"http://127.0.0.1:{port}", tmp / "trades.jsonl", proc, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the service exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(svc.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service did not answer /health:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield svc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def every_page_ends_sound() -> Iterator[None]:
    """Every page a browser test opens ends with no console error, no failed request it did
    not ask for, no sideways scroll and no toast over a control (support.check_opened_pages)."""
    yield
    found = check_opened_pages()
    assert not found, "\n".join(found)
