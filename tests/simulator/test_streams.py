"""Market streams through python-binance's BinanceSocketManager and a raw websocket client."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import aiohttp
from binance import AsyncClient, BinanceSocketManager

from simulator import Simulator
from tests.simulator.conftest import assert_shape, kline_fields, make_config


def _socket_manager(client: AsyncClient, sim: Simulator) -> BinanceSocketManager:
    bsm = BinanceSocketManager(client, max_queue_size=10_000)  # 1200 trades/s at speed 600
    bsm.STREAM_TESTNET_URL = sim.stream_url
    return bsm


def _recorded_trade(load) -> dict[str, Any]:
    event = dict(load("stream/trade_event_ethusdt_2021.json")["data"])
    del event["b"], event["a"]  # removed from Binance's trade events since
    return event


def _recorded_kline_envelope(binance_data) -> dict[str, Any]:
    path = binance_data / "stream/combined_stream_binanceus_2021.jsonl"
    for line in path.read_text().splitlines():
        if "@kline_1m" in line:
            envelope: dict[str, Any] = json.loads(line)
            return envelope
    raise AssertionError("no kline in the recording")


async def test_trade_socket_events(client: AsyncClient, sim: Simulator, load) -> None:
    recorded = _recorded_trade(load)
    async with _socket_manager(client, sim).trade_socket("BTCUSDT") as socket:
        events = [await socket.recv() for _ in range(30)]
    for event in events:
        assert_shape(event, recorded)
        assert event["s"] == "BTCUSDT" and event["E"] >= event["T"]
        assert Decimal(event["p"]) % Decimal("0.01") == 0
    ids = [e["t"] for e in events]
    assert ids == list(range(ids[0], ids[0] + 30))
    served = {t.id: t for t in sim.trades("BTCUSDT")}
    for event in events:
        trade = served[event["t"]]
        assert (Decimal(event["p"]), Decimal(event["q"]), event["T"], event["m"]) == (
            trade.price,
            trade.qty,
            trade.time,
            trade.is_buyer_maker,
        )


async def test_multiplex_socket_envelope_and_closed_kline(
    client: AsyncClient, sim: Simulator, load, binance_data
) -> None:
    kline_envelope = _recorded_kline_envelope(binance_data)
    bsm = _socket_manager(client, sim)
    seen: set[str] = set()
    closed = None
    async with bsm.multiplex_socket(["btcusdt@trade", "ethusdt@kline_1m"]) as socket:
        while closed is None:
            msg = await asyncio.wait_for(socket.recv(), 5)
            assert set(msg) == {"stream", "data"}
            seen.add(msg["stream"])
            if msg["stream"] == "btcusdt@trade":
                assert_shape(msg["data"], _recorded_trade(load))
            else:
                assert_shape(msg, kline_envelope)
                if msg["data"]["k"]["x"]:
                    closed = msg["data"]["k"]
    assert seen == {"btcusdt@trade", "ethusdt@kline_1m"}
    rows = await client.get_klines(symbol="ETHUSDT", interval="1m", startTime=closed["t"], limit=1)
    row = rows[0]
    assert kline_fields(row) == [
        Decimal(closed[k]) if k != "n" else closed[k]
        for k in ("o", "h", "l", "c", "v", "q", "n", "V", "Q")
    ]
    assert closed["T"] == row[6] == closed["t"] + 59_999


async def test_streamed_trades_make_the_simulators_klines(
    client: AsyncClient, sim: Simulator
) -> None:
    """Candles computed here from the streamed trades equal GET /klines for full minutes."""
    trades: list[dict[str, Any]] = []
    async with _socket_manager(client, sim).trade_socket("ETHUSDT") as socket:
        while len({t["T"] // 60_000 for t in trades}) < 4:
            event = await asyncio.wait_for(socket.recv(), 5)
            trades.append(event)
    ids = [t["t"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    minutes: dict[int, list[dict[str, Any]]] = {}
    for t in trades:
        minutes.setdefault(t["T"] - t["T"] % 60_000, []).append(t)
    inner = sorted(minutes)[1:-1]  # the first and last minutes were seen in part
    klines = await client.get_klines(
        symbol="ETHUSDT", interval="1m", startTime=inner[0], limit=len(inner)
    )
    for minute, row in zip(inner, klines, strict=True):
        ts = minutes[minute]
        prices = [Decimal(t["p"]) for t in ts]
        buys = [t for t in ts if not t["m"]]
        expected = [
            prices[0],
            max(prices),
            min(prices),
            prices[-1],
            sum(Decimal(t["q"]) for t in ts),
            sum(Decimal(t["p"]) * Decimal(t["q"]) for t in ts),
            len(ts),
            sum((Decimal(t["q"]) for t in buys), Decimal(0)),
            sum((Decimal(t["p"]) * Decimal(t["q"]) for t in buys), Decimal(0)),
        ]
        assert row[0] == minute
        assert kline_fields(row) == expected


async def test_subscribe_list_unsubscribe_and_errors(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.stream_url + "ws") as ws:
        await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}')
        replies: list[dict[str, Any]] = []
        trades: list[dict[str, Any]] = []
        while not replies or len(trades) < 3:
            msg = json.loads((await ws.receive(timeout=5)).data)
            (replies if "id" in msg else trades).append(msg)
        assert replies == [{"result": None, "id": 1}]
        assert all(t["e"] == "trade" for t in trades)
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":2}')
        await ws.send_str("not json")
        await ws.send_str('{"method":"FLY","id":3}')
        await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@nonsense"],"id":4}')
        await ws.send_str('{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":5}')
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":6}')
        answers: dict[object, dict[str, Any]] = {}
        while len(answers) < 6:
            msg = json.loads((await ws.receive(timeout=5)).data)
            if "e" not in msg:
                answers[msg.get("id", "bad-json")] = msg
    assert answers[2] == {"result": ["btcusdt@trade"], "id": 2}
    assert answers[None]["error"]["code"] == 3  # bad JSON: no id to echo
    assert answers[None]["error"]["msg"].startswith("Invalid JSON")
    assert (
        answers[3]["error"]["code"] == 2 and "unknown variant `FLY`" in answers[3]["error"]["msg"]
    )
    assert answers[4]["error"]["code"] == 2
    assert answers[5] == {"result": None, "id": 5}
    assert answers[6] == {"result": [], "id": 6}


async def test_server_sends_ping_frames() -> None:
    async with (
        Simulator(make_config(ping_interval_s=0.2)) as sim,
        aiohttp.ClientSession() as session,
        session.ws_connect(sim.stream_url + "ws/btcusdt@kline_1m", autoping=False) as ws,
    ):
        kinds = set()
        while aiohttp.WSMsgType.PING not in kinds:
            kinds.add((await ws.receive(timeout=3)).type)
        await ws.pong()
