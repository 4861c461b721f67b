"""Protocol details of the REST API: parameter precedence, recvWindow, µs time, weights, bans,
JSON errors on unknown routes, case-sensitive symbols. Raw HTTP, signed by hand."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from simulator import Simulator
from tests.simulator.conftest import KEY, SECRET, make_config


def _signed(sim: Simulator, params: dict[str, Any], micros: bool = False) -> str:
    now = sim.clock.now_ms()
    stamp = now * 1000 + 123 if micros else now
    query = urlencode({**params, "timestamp": stamp})
    signature = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"X-MBX-APIKEY": KEY}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{sim.port}", headers=headers) as session:
        yield session


async def test_query_string_wins_over_the_body(sim: Simulator, http: aiohttp.ClientSession) -> None:
    query = _signed(
        sim, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    )
    body = "quantity=0.005"  # the body's value is ignored: the query string's is used
    async with http.post(f"/api/v3/order?{query}", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"}) as resp:  # fmt: skip
        order = await resp.json()
    assert resp.status == 400 and order["code"] == -1022  # body is part of the signed payload
    payload = "quantity=0.005"
    total = query.split("&signature=")[0]
    signature = hmac.new(SECRET.encode(), (total + payload).encode(), hashlib.sha256).hexdigest()
    async with http.post(
        f"/api/v3/order?{total}&signature={signature}",
        data=payload,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as resp:
        order = await resp.json()
    assert resp.status == 200, order
    assert order["origQty"] == "0.00200000"


async def test_recv_window_with_decimals_and_microsecond_time(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"/api/v3/account?{_signed(sim, {'recvWindow': '6000.346'})}") as resp:
        assert resp.status == 200
    async with http.get(f"/api/v3/account?{_signed(sim, {'recvWindow': '6000.3466'})}") as resp:
        assert resp.status == 400 and (await resp.json())["code"] == -1100
    query = _signed(sim, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                          "quantity": "0.001"}, micros=True)  # fmt: skip
    async with http.post(
        f"/api/v3/order?{query}", headers={"X-MBX-TIME-UNIT": "MICROSECOND"}
    ) as resp:
        order = await resp.json()
    assert resp.status == 200, order
    assert order["transactTime"] > 10**15 and order["workingTime"] > 10**15
    async with http.get("/api/v3/time", headers={"X-MBX-TIME-UNIT": "microsecond"}) as resp:
        assert (await resp.json())["serverTime"] > 10**15
    async with http.get("/api/v3/time") as resp:
        assert (await resp.json())["serverTime"] < 10**14
    async with http.get("/api/v3/time", headers={"X-MBX-TIME-UNIT": "NANOSECOND"}) as resp:
        assert resp.status == 400 and (await resp.json())["code"] == -1194


async def test_weights_as_documented(sim: Simulator, http: aiohttp.ClientSession) -> None:
    async def used(path: str) -> int:
        async with http.get(path) as resp:
            assert resp.status == 200, await resp.text()
            return int(resp.headers["X-MBX-USED-WEIGHT-1M"])

    before = await used("/api/v3/ping")
    assert await used("/api/v3/aggTrades?symbol=BTCUSDT") - before == 4
    before = await used("/api/v3/ping")
    assert await used(f"/api/v3/openOrders?{_signed(sim, {})}") - before == 80
    before = await used("/api/v3/ping")
    assert await used(f"/api/v3/openOrders?{_signed(sim, {'symbol': 'BTCUSDT'})}") - before == 6


async def test_unknown_routes_answer_json(http: aiohttp.ClientSession) -> None:
    for method, path in (("GET", "/api/v3/nothing"), ("PUT", "/api/v3/order"), ("GET", "/x")):
        async with http.request(method, path) as resp:
            assert resp.content_type == "application/json"
            body = await resp.json()
        assert resp.status in (404, 405) and body == {
            "code": -1020,
            "msg": "This operation is not supported.",
        }


async def test_symbols_are_case_sensitive_and_bad_combinations(
    http: aiohttp.ClientSession,
) -> None:
    async with http.get("/api/v3/ticker/price?symbol=btcusdt") as resp:
        assert resp.status == 400 and (await resp.json())["code"] == -1121
    async with http.get('/api/v3/exchangeInfo?symbol=BTCUSDT&symbols=["ETHUSDT"]') as resp:
        assert resp.status == 400 and (await resp.json())["code"] == -1128


async def test_repeated_429s_become_a_418_ban() -> None:
    async with (
        Simulator(make_config(weight_limit_1m=30)) as sim,
        aiohttp.ClientSession(f"http://127.0.0.1:{sim.port}") as http,
    ):
        statuses = []
        for _ in range(20):
            async with http.get("/api/v3/exchangeInfo") as resp:
                statuses.append(resp.status)
                if resp.status == 418:
                    body = await resp.json()
                    assert int(resp.headers["Retry-After"]) > 60
        assert statuses[:1] == [200] and 429 in statuses and statuses[-1] == 418
        assert body["code"] == -1003 and "IP banned until" in body["msg"]
        first_ban = statuses.index(418)
        assert statuses[first_ban:] == [418] * (20 - first_ban)
