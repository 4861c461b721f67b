"""Faults the soak run needs: failing /api/v3/time and order lookups, a drifting server clock,
and GET /sim/clock (the market clock a standalone service follows)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import FaultConfig, Simulator
from simulator.__main__ import build_parser, config_from
from simulator.faults import FaultInjector
from tests.simulator.conftest import KEY, SECRET, make_client, make_config


async def _sim_get(sim: Simulator, path: str) -> dict[str, Any]:
    url = sim.rest_url.removesuffix("/api") + path
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def _sim_clock(sim: Simulator) -> dict[str, Any]:
    return await _sim_get(sim, "/sim/clock")


def test_cli_flags_reach_the_fault_config() -> None:
    args = build_parser().parse_args(
        ["--rest-faults-on", "all", "--rest-fault-paths", "order, time", "--clock-drift", "250"]
    )
    faults = config_from(args).faults
    assert faults.rest_faults_on == "all"
    assert faults.rest_fault_paths == ("order", "time")
    assert faults.clock_drift_ms_per_s == 250.0
    assert config_from(build_parser().parse_args([])).faults == FaultConfig()


def test_a_clock_cannot_drift_backwards() -> None:
    with pytest.raises(ValueError, match="clock_drift_ms_per_s"):
        FaultConfig(clock_drift_ms_per_s=-1000)


def test_drift_grows_with_market_time_since_the_start() -> None:
    injector = FaultInjector(FaultConfig(clock_drift_ms_per_s=40), seed=1)
    assert injector.server_time_ms(1_000, 1_000) == 1_000
    assert injector.server_time_ms(61_000, 1_000) == 61_000 + 2_400  # 60 s × 40 ms
    still = FaultInjector(FaultConfig(), seed=1)
    assert still.server_time_ms(61_000, 1_000) == 61_000


@pytest.mark.parametrize(("kind", "status", "code"), [("500", 500, -1001), ("429", 429, -1003)])
async def test_time_and_every_order_method_fail_while_the_rest_answers(
    kind: str, status: int, code: int
) -> None:
    faults = FaultConfig(
        server_error_probability=1.0 if kind == "500" else 0.0,
        rate_limit_probability=1.0 if kind == "429" else 0.0,
        rest_faults_on="all",
        rest_fault_paths=("order", "time"),
    )
    async with Simulator(make_config(faults=faults)) as sim:
        client = make_client(sim)
        try:
            calls = [
                client.get_server_time(),
                client.get_order(symbol="BTCUSDT", origClientOrderId="x1"),
                client.order_market_buy(symbol="BTCUSDT", quantity="0.001"),
            ]
            for call in calls:
                with pytest.raises(BinanceAPIException) as err:
                    await call
                assert (err.value.status_code, err.value.code) == (status, code)
            account = await client.get_account()  # a path not listed answers
            assert any(b["asset"] == "BTC" for b in account["balances"])
            assert await client.get_all_orders(symbol="BTCUSDT") == []  # nothing executed
        finally:
            await client.close_connection()
        stats = (await _sim_get(sim, "/sim/info"))["stats"]  # what a soak run reads
    assert stats[f"injected_{kind}"] == 3


async def test_sim_clock_is_the_market_clock_and_never_drifts() -> None:
    faults = FaultConfig(clock_drift_ms_per_s=500)
    async with Simulator(make_config(faults=faults)) as sim:
        before = sim.clock.now_ms()
        body = await _sim_clock(sim)
        after = sim.clock.now_ms()
        assert before <= body["now_ms"] <= after
        assert body["speed"] == 600.0
        client = make_client(sim)
        try:
            await asyncio.sleep(0.05)
            low = sim.server_time_ms()
            served = (await client.get_server_time())["serverTime"]
            high = sim.server_time_ms()
        finally:
            await client.close_connection()
    assert low <= served <= high
    assert served > sim.clock.start_ms + (served - sim.clock.start_ms) // 2  # it did drift


@pytest.mark.e2e
async def test_a_stale_offset_meets_1021_until_the_client_resyncs() -> None:
    # The server gains 5 s per market second: python-binance's 10 s recvWindow is gone in 2 s.
    drift = 5_000.0
    config = make_config(faults=FaultConfig(clock_drift_ms_per_s=drift), speed=1.0)
    async with Simulator(config) as sim:
        client = AsyncClient(KEY, SECRET, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        try:
            window_ms = client.REQUEST_RECVWINDOW
            while sim.server_time_ms() - sim.clock.now_ms() <= window_ms:
                await asyncio.sleep(0.05)
            # Signing on the market clock (GET /sim/clock) is now outside the window.
            market = (await _sim_clock(sim))["now_ms"]
            client.timestamp_offset = int(market) - time.time_ns() // 1_000_000
            with pytest.raises(BinanceAPIException) as err:
                await client.get_account()
            assert err.value.code == -1021
            # One resync from /api/v3/time, and a signed call goes through again (the widest
            # window gives it 12 s before the drift catches up once more).
            server = (await client.get_server_time())["serverTime"]
            client.timestamp_offset = server - time.time_ns() // 1_000_000
            client.REQUEST_RECVWINDOW = 60_000
            account = await client.get_account()
            assert account["balances"]
        finally:
            await client.close_connection()
