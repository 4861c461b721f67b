"""Each fault does what it says: drops, bad frames, duplicates, 429, 500, hung orders."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from decimal import Decimal

import aiohttp
import pytest
from binance.exceptions import BinanceAPIException

from simulator import FaultConfig, Simulator
from tests.simulator.conftest import KEY, make_client, make_config


def _sim(**faults: object) -> Simulator:
    return Simulator(make_config(faults=FaultConfig(**faults)))  # type: ignore[arg-type]


async def _frames(url: str, count: int) -> list[str]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        return [(await ws.receive(timeout=5)).data for _ in range(count)]


async def test_drop_closes_with_a_frame_and_missed_trades_are_not_resent() -> None:
    async with _sim(drop_every_s=0.3) as sim:
        url = sim.stream_url + "ws/btcusdt@trade"
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(url) as ws:
                ids = []
                async for msg in ws:
                    ids.append(json.loads(msg.data)["t"])
                assert ws.close_code == 1001  # closed with a close frame
            await asyncio.sleep(0.1)  # a minute of market time passes while disconnected
            async with session.ws_connect(url) as ws:
                first_after = json.loads((await ws.receive(timeout=5)).data)["t"]
        assert first_after > ids[-1] + 1  # the gap is not replayed on reconnect
        client = make_client(sim)
        try:
            gap = await client.get_historical_trades(
                symbol="BTCUSDT", fromId=ids[-1] + 1, limit=first_after - ids[-1] - 1
            )
        finally:
            await client.close_connection()
        assert [t["id"] for t in gap] == list(range(ids[-1] + 1, first_after))
        assert sim.stats()["stream_drops"] >= 1


async def test_abort_drops_without_a_close_frame() -> None:
    async with (
        _sim(drop_every_s=0.2, drop_abort=True) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.stream_url + "ws/btcusdt@trade") as ws,
    ):
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        assert ws.close_code != 1001


async def test_malformed_and_truncated_frames_lose_their_trade() -> None:
    async with _sim(malformed_probability=0.1, truncated_probability=0.1) as sim:
        frames = await _frames(sim.stream_url + "ws/btcusdt@trade", 200)
    good, bad = [], 0
    for text in frames:
        try:
            good.append(json.loads(text)["t"])
        except ValueError:
            bad += 1
    assert bad > 0
    missing = (good[-1] - good[0] + 1) - len(good)
    assert 0 < missing <= bad  # each bad frame stood for one trade, now a gap


async def test_duplicates_and_out_of_order_are_real_trades() -> None:
    async with _sim(duplicate_probability=0.05, out_of_order_probability=0.05) as sim:
        frames = await _frames(sim.stream_url + "stream?streams=ethusdt@trade", 300)
        served = {t.id: t for t in sim.trades("ETHUSDT")}
    events = [json.loads(f)["data"] for f in frames]
    ids = [e["t"] for e in events]
    assert len(ids) > len(set(ids))  # duplicates
    assert any(b < a for a, b in itertools.pairwise(ids))  # out of order
    assert set(ids) >= set(range(min(ids) + 1, max(ids) - 1))  # nothing lost inside
    for e in events:
        assert e["T"] == served[e["t"]].time and e["p"] == f"{served[e['t']].price:.8f}"


async def test_injected_429_has_retry_after_and_executes_nothing() -> None:
    async with _sim(rate_limit_probability=1.0, retry_after_s=3) as sim:
        client = make_client(sim)
        try:
            assert await client.ping() == {}  # faults apply to order requests by default
            with pytest.raises(BinanceAPIException) as err:
                await client.order_market_buy(symbol="BTCUSDT", quantity="0.001")
        finally:
            await client.close_connection()
        assert (err.value.code, err.value.status_code) == (-1003, 429)
        assert err.value.response.headers["Retry-After"] == "3"
        assert sim.accounts.all_orders() == []


async def test_injected_500_happens_before_executing() -> None:
    async with _sim(server_error_probability=1.0, rest_faults_on="all") as sim:
        client = make_client(sim)
        try:
            for call in (
                client.ping(),
                client.order_market_sell(symbol="BTCUSDT", quantity="0.001"),
            ):
                with pytest.raises(BinanceAPIException) as err:
                    await call
                assert (err.value.code, err.value.status_code) == (-1001, 500)
        finally:
            await client.close_connection()
        assert sim.accounts.all_orders() == []


async def test_weight_limit_gives_429_with_retry_after() -> None:
    if time.time() % 60 > 55:  # weights reset with the real minute: stay inside one
        await asyncio.sleep(61 - time.time() % 60)
    async with Simulator(make_config(weight_limit_1m=45)) as sim:
        client = make_client(sim)
        try:
            await client.get_exchange_info()
            await client.get_exchange_info()
            with pytest.raises(BinanceAPIException) as err:
                await client.get_exchange_info()
        finally:
            await client.close_connection()
        assert (err.value.code, err.value.status_code) == (-1003, 429)
        assert "current limit is 45 request weight" in err.value.message
        assert 1 <= int(err.value.response.headers["Retry-After"]) <= 60
        assert err.value.response.headers["X-MBX-USED-WEIGHT-1M"] == "60"


async def test_hung_order_executed_and_visible_in_all_orders() -> None:
    async with _sim(order_hang_probability=1.0, order_hang_s=5.0) as sim:
        impatient = make_client(sim, requests_params={"timeout": 0.5})
        patient = make_client(sim)
        try:
            with pytest.raises(asyncio.TimeoutError):
                await impatient.order_market_buy(
                    symbol="BTCUSDT", quantity="0.001", newClientOrderId="lost-1"
                )
            orders = await patient.get_all_orders(symbol="BTCUSDT")
            assert [(o["clientOrderId"], o["status"]) for o in orders] == [("lost-1", "FILLED")]
            got = await patient.get_order(symbol="BTCUSDT", origClientOrderId="lost-1")
            assert got["executedQty"] == "0.00100000"
        finally:
            await impatient.close_connection()
            await patient.close_connection()
        assert sim.stats()["orders_hung"] == 1
        assert sim.balances(KEY)["BTC"] == 1 + Decimal("0.001") - Decimal("0.000001")
        assert [o["clientOrderId"] for o in sim.all_orders()] == ["lost-1"]
