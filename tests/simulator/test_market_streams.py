"""Market streams beyond trades: SUBSCRIBE on any /ws/<tail>, depth, klines, tickers, shutdown."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from binance import AsyncClient, BinanceSocketManager

from simulator import Simulator
from tests.simulator.conftest import assert_shape, make_client, make_config

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)


def _recorded(binance_data: Path, stream_suffix: str) -> dict[str, Any]:
    path = binance_data / "stream/combined_stream_binanceus_2021.jsonl"
    for line in path.read_text().splitlines():
        envelope: dict[str, Any] = json.loads(line)
        if envelope["stream"].endswith(stream_suffix):
            return envelope
    raise AssertionError(f"no {stream_suffix} in the recording")


async def _collect(
    ws: aiohttp.ClientWebSocketResponse, want: dict[str, int], combined: bool = True
) -> dict[str, list[Any]]:
    """Events per stream until each stream in `want` has that many (replies are skipped)."""
    got: dict[str, list[Any]] = {name: [] for name in want}
    while any(len(got[n]) < k for n, k in want.items()):
        msg = json.loads((await ws.receive(timeout=5)).data)
        if isinstance(msg, dict) and "id" in msg:
            continue
        if msg["stream"] in got:
            got[msg["stream"]].append(msg["data"])
    return got


async def test_any_ws_tail_accepts_subscribe_like_ccxt_pro(binance_data: Path) -> None:
    streams = [
        "btcusdt@depth5",
        "btcusdt@depth10@100ms",
        "btcusdt@depth@100ms",
        "btcusdt@bookTicker",
        "btcusdt@ticker",
        "btcusdt@miniTicker",
        "!miniTicker@arr",
        "!ticker_4h@arr",
        "btcusdt@avgPrice",
        "ethusdt@ticker_1h",
        "ethusdt@kline_1s",
        "ethusdt@kline_1h@+08:00",
    ]
    async with (
        Simulator(make_config()) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.stream_url + "ws/3") as ws,
    ):
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))
        await ws.send_str('{"method":"SET_PROPERTY","params":["combined",true],"id":2}')
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":3}')
        replies: dict[int, Any] = {}
        while len(replies) < 3:
            msg = json.loads((await ws.receive(timeout=5)).data)
            if isinstance(msg, dict) and "id" in msg:
                replies[msg["id"]] = msg
        assert replies[1] == {"result": None, "id": 1}
        assert replies[3] == {"result": streams, "id": 3}
        got = await _collect(ws, dict.fromkeys(streams, 2))
    depth_update = _recorded(binance_data, "@depth@100ms")["data"]
    book_ticker = _recorded(binance_data, "@bookTicker")["data"]
    for event in got["btcusdt@depth@100ms"]:
        assert_shape(event, depth_update)
    for event in got["btcusdt@bookTicker"]:
        assert_shape(event, book_ticker)
    first, second = got["btcusdt@depth@100ms"][:2]
    assert second["U"] == first["u"] + 1  # consecutive update ids
    for name, levels in (("btcusdt@depth5", 5), ("btcusdt@depth10@100ms", 10)):
        for event in got[name]:
            assert set(event) == {"lastUpdateId", "bids", "asks"}
            assert len(event["bids"]) == len(event["asks"]) == levels
    keys = {
        "btcusdt@ticker": "e E s p P w x c Q b B a A o h l v q O C F L n",
        "btcusdt@miniTicker": "e E s c o h l v q",
        "btcusdt@avgPrice": "e E s i w T",
        "ethusdt@ticker_1h": "e E s p P o h l c w v q O C F L n",
    }
    for name, fields in keys.items():
        assert all(list(event) == fields.split() for event in got[name]), name
    assert got["ethusdt@ticker_1h"][0]["e"] == "1hTicker"
    assert {t["s"] for t in got["!miniTicker@arr"][0]} == {"BTCUSDT", "ETHUSDT"}
    assert {t["e"] for t in got["!ticker_4h@arr"][0]} == {"4hTicker"}
    for event in got["ethusdt@kline_1s"]:
        assert event["k"]["i"] == "1s" and event["k"]["T"] == event["k"]["t"] + 999
    hour = got["ethusdt@kline_1h@+08:00"][0]["k"]
    assert hour["i"] == "1h" and hour["T"] == hour["t"] + 3_599_999


async def test_unknown_raw_tail_connects_but_combined_names_are_checked() -> None:
    async with Simulator(make_config()) as sim, aiohttp.ClientSession() as session:
        async with session.ws_connect(sim.stream_url + "ws/not-a-stream") as ws:
            await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":1}')
            assert json.loads((await ws.receive(timeout=5)).data) == {"result": [], "id": 1}
        async with session.get(sim.stream_url + "stream?streams=btcusdt@nope") as response:
            assert response.status == 400
            assert (await response.json())["code"] == -1100


async def test_local_order_book_the_documented_way_equals_the_snapshots() -> None:
    """web-socket-streams.md "How to manage a local order book correctly", step by step."""
    async with (
        Simulator(make_config(speed=2.0)) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.stream_url + "ws/ethusdt@depth@100ms") as ws,
    ):
        buffered = [json.loads((await ws.receive(timeout=5)).data)]
        first_u = buffered[0]["U"]
        rest = sim.rest_url + "/v3/depth"
        while True:
            async with session.get(rest, params={"symbol": "ETHUSDT", "limit": 5000}) as r:
                snapshot = await r.json()
            if snapshot["lastUpdateId"] >= first_u:
                break
        book_id = snapshot["lastUpdateId"]
        bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
        asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
        events = [e for e in buffered if e["u"] > book_id]
        applied = compared = 0
        later = snapshot
        while compared < 3:
            if not events:
                events.append(json.loads((await ws.receive(timeout=5)).data))
                async with session.get(rest, params={"symbol": "ETHUSDT", "limit": 5000}) as r:
                    later = await r.json()
            event = events.pop(0)
            if event["u"] <= book_id:
                continue
            if applied == 0:
                assert event["U"] <= book_id + 1 <= event["u"]
            else:
                assert event["U"] == book_id + 1  # nothing missed
            for side, levels in ((bids, event["b"]), (asks, event["a"])):
                for price, qty in levels:
                    if Decimal(qty) == 0:
                        side.pop(Decimal(price), None)
                    else:
                        side[Decimal(price)] = Decimal(qty)
            book_id, applied = event["u"], applied + 1
            if later["lastUpdateId"] == book_id:  # a snapshot taken at this very update
                assert sorted(bids.items(), reverse=True) == [
                    (Decimal(p), Decimal(q)) for p, q in later["bids"]
                ]
                assert sorted(asks.items()) == [(Decimal(p), Decimal(q)) for p, q in later["asks"]]
                compared += 1


async def test_kline_stream_pushes_at_binances_cadence() -> None:
    """Open klines every 2 s of market time (1 s for 1s klines); every closed one once."""
    async with (
        Simulator(make_config(speed=10.0)) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(
            sim.stream_url + "stream?streams=btcusdt@kline_1m/btcusdt@kline_1s"
        ) as ws,
    ):
        got = await _collect(ws, {"btcusdt@kline_1m": 4, "btcusdt@kline_1s": 12})
    for name, every in (("btcusdt@kline_1m", 2000), ("btcusdt@kline_1s", 1000)):
        pushes = [e["E"] for e in got[name] if not e["k"]["x"]]
        assert all(b - a >= every for a, b in pairwise(pushes)), (name, pushes)
    closed = [e["k"]["t"] for e in got["btcusdt@kline_1s"] if e["k"]["x"]]
    assert closed and closed == list(range(closed[0], closed[0] + 1000 * len(closed), 1000))


async def test_server_shutdown_event_before_a_planned_close() -> None:
    sim = Simulator(make_config())
    await sim.start()

    async def read_all(ws: aiohttp.ClientWebSocketResponse) -> list[Any]:
        return [json.loads(msg.data) async for msg in ws]

    async with aiohttp.ClientSession() as session:
        raw = await session.ws_connect(sim.stream_url + "ws/btcusdt@kline_1m")
        combined = await session.ws_connect(sim.stream_url + "stream?streams=btcusdt@trade")
        await raw.receive(timeout=5)
        await combined.receive(timeout=5)
        readers = asyncio.gather(read_all(raw), read_all(combined))
        await sim.stop()
        seen_raw, seen_combined = await asyncio.wait_for(readers, 5)
    assert raw.close_code == combined.close_code == 1001
    assert set(seen_raw[-1]) == {"e", "E"} and seen_raw[-1]["e"] == "serverShutdown"
    assert seen_combined[-1]["stream"] == "!serverShutdown"
    assert seen_combined[-1]["data"]["e"] == "serverShutdown"


async def test_python_binance_depth_and_kline_sockets() -> None:
    async with Simulator(make_config()) as sim:
        client: AsyncClient = make_client(sim)
        try:
            bsm = BinanceSocketManager(client, max_queue_size=10_000)
            bsm.STREAM_TESTNET_URL = sim.stream_url
            async with bsm.depth_socket(
                "BTCUSDT", depth=BinanceSocketManager.WEBSOCKET_DEPTH_5
            ) as s:
                partial = await asyncio.wait_for(s.recv(), 5)
            assert len(partial["bids"]) == 5 and "lastUpdateId" in partial
            async with bsm.depth_socket("BTCUSDT", interval=100) as s:
                diffs = [await asyncio.wait_for(s.recv(), 5) for _ in range(3)]
            assert [d["U"] for d in diffs[1:]] == [d["u"] + 1 for d in diffs[:-1]]
            async with bsm.kline_socket(
                "ETHUSDT", interval=AsyncClient.KLINE_INTERVAL_5MINUTE
            ) as s:
                while not (event := await asyncio.wait_for(s.recv(), 5))["k"]["x"]:
                    assert event["k"]["i"] == "5m"
            rows = await client.get_klines(
                symbol="ETHUSDT", interval="5m", startTime=event["k"]["t"], limit=1
            )
            k = event["k"]
            assert rows[0][:9] == [
                k["t"],
                k["o"],
                k["h"],
                k["l"],
                k["c"],
                k["v"],
                k["T"],
                k["q"],
                k["n"],
            ]
        finally:
            await client.close_connection()
