"""`python -m simulator` as a subprocess: help, banner, serving, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from binance import AsyncClient

ROOT = Path(__file__).resolve().parents[2]


async def _run(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest.mark.e2e
async def test_help_lists_the_knobs_and_faults() -> None:
    proc = await _run("--help")
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    for flag in (
        "--speed",
        "--seed",
        "--api-key",
        "--symbols",
        "--trade-rate",
        "--drop-every",
        "--malformed",
        "--order-hang",
        "--rate-limit",
    ):
        assert flag in out.decode()


@pytest.mark.e2e
async def test_bad_setting_is_one_clear_line() -> None:
    proc = await _run("--speed", "-1")
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert err.decode().strip() == "simulator: bad setting: speed must be positive"


@pytest.mark.e2e
async def test_serves_python_binance_and_stops_on_sigterm() -> None:
    proc = await _run(
        "--port",
        "0",
        "--speed",
        "60",
        "--seed",
        "1",
        "--api-key",
        "K",
        "--api-secret",
        "S",
        "--history-minutes",
        "5",
    )
    assert proc.stdout is not None
    try:
        banner = ""
        while "Ctrl-C" not in banner:
            banner += (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        rest_url = re.search(r"API_TESTNET_URL\s+= '([^']+)'", banner)
        assert rest_url is not None and "api key K" in banner
        client = AsyncClient("K", "S", testnet=True)
        client.API_TESTNET_URL = rest_url.group(1)
        try:
            assert await client.ping() == {}
            assert len(await client.get_klines(symbol="BTCUSDT", interval="1m")) >= 5
        finally:
            await client.close_connection()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0
        assert "stopping" in err.decode() and "Traceback" not in err.decode()
        assert "api_secret" not in err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
