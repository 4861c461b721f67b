"""`python main.py --simulate-url URL`: the service against a simulator in another process,
on its clock, across a SIGKILL and a restart (the simulator and its orders outlive the service)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

import main
from core.remote_clock import RemoteClock
from simulator import Simulator, SimulatorConfig
from tests.api.support import empty_env, free_port
from tests.ledgers import beside
from wiring.clocked_client import ClockedClient

ROOT = Path(__file__).resolve().parents[2]


def test_simulate_and_simulate_url_exclude_each_other(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = ["--env-file", str(empty_env(tmp_path))]
    assert main.main(["--simulate", "--simulate-url", "http://127.0.0.1:1", *env]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main.main(["--simulate-url", "127.0.0.1:9100", *env]) == 2
    assert "http://HOST:PORT" in capsys.readouterr().err


def test_an_unreachable_simulator_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["--simulate-url", url, "--env-file", str(empty_env(tmp_path))]
    argv += ["--database", f"sqlite:///{tmp_path}/ledger.db"]
    assert main.main([*argv, "--journal", str(tmp_path / "j.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --simulate-url: cannot read the clock at") and url in err
    assert err.count("\n") == 1


async def health(http: httpx.AsyncClient, base: str, proc: subprocess.Popen[bytes]) -> Any:
    """/health once the service answers it with both feeds live."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the service exited"
        try:
            r = await http.get(f"{base}/health")
            if r.status_code == 200 and r.json()["status"] == "ok":
                return r.json()
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("the service did not become healthy")


def start(port: int, url: str, journal: Path, log: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    cmd = [sys.executable, "main.py", "--simulate-url", url, "--port", str(port)]
    cmd += [
        "--journal",
        str(journal),
        "--database",
        beside(journal),
        "--env-file",
        str(empty_env(journal.parent)),
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_the_service_keeps_the_simulators_time_across_a_sigkill(tmp_path: Path) -> None:
    config = SimulatorConfig(seed=4, speed=600.0, history_minutes=60, trade_rate=0.5)
    port, journal = free_port(), tmp_path / "journal.jsonl"
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "service.log"
    async with Simulator(config) as sim, httpx.AsyncClient() as http:
        url = sim.rest_url.removesuffix("/api")
        seen: list[int] = []
        with log_path.open("wb") as log:
            for run in range(2):
                proc = start(port, url, journal, log)
                try:
                    report = await health(http, base, proc)
                    low = sim.clock.now_ms()
                    shown = (await http.get(f"{base}/health")).json()["now_ms"]
                    high = sim.clock.now_ms()
                    assert report["mode"] == "simulated"
                    # The service's clock is the simulator's (600x), not the wall clock.
                    slack = int(0.5 * 1000 * config.speed)  # half a real second of sampling
                    assert low - slack <= shown <= high + slack
                    seen.append(shown)
                finally:
                    proc.send_signal(signal.SIGKILL if run == 0 else signal.SIGINT)
                    code = await asyncio.to_thread(proc.wait, 10)
                assert code == (-signal.SIGKILL if run == 0 else 0)
    text = log_path.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert seen[1] > seen[0]  # the restart continues on the simulator's market time
    assert text.count("standalone simulator at") == 2


async def test_signatures_follow_the_clock_where_wall_time_falls_behind() -> None:
    # A 100 ms (real) recvWindow at x600: wall time + a measured offset is outside it within
    # a fraction of a second; the clocked client stamps clock time + the same offset.
    config = SimulatorConfig(seed=4, speed=600.0, history_minutes=1, symbols=("BTCUSDT",))
    async with Simulator(config) as sim:
        clock = await RemoteClock.connect(sim.rest_url.removesuffix("/api") + "/sim/clock")
        key, secret = config.api_key, config.api_secret
        plain = AsyncClient(key, secret, testnet=True)
        clocked = ClockedClient(key, secret, testnet=True, clock=clock)
        try:
            for client in (plain, clocked):
                client.API_TESTNET_URL = sim.rest_url
                client.REQUEST_RECVWINDOW = 100
                served = (await client.get_server_time())["serverTime"]
                client.timestamp_offset = served - time.time_ns() // 1_000_000  # ServerTime's way
            await asyncio.sleep(0.3)  # 180 market seconds
            with pytest.raises(BinanceAPIException) as err:
                await plain.get_account()
            assert err.value.code == -1021
            assert (await clocked.get_account())["balances"]
        finally:
            await plain.close_connection()
            await clocked.close_connection()
            await clock.close()
