"""The WebSocket API (/ws-api/v3): requests, errors, logon, user-data events of a stop fill,
by raw frames and through python-binance's ws_* methods and user socket."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from binance import BinanceSocketManager
from binance.exceptions import BinanceAPIException
from binance.ws.websocket_api import WebsocketAPI

from simulator import Simulator
from tests.simulator.conftest import KEY, SECRET, make_client

_ids = itertools.count()


class Api:
    """A raw WebSocket API connection: requests by id, events kept apart."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, sim: Simulator) -> None:
        self.ws = ws
        self.sim = sim
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.unmatched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()  # answers without id
        self._answers: dict[object, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            frame = msg.json()
            if "event" in frame:
                await self.events.put(frame)
            elif frame["id"] in self._answers:
                self._answers.pop(frame["id"]).set_result(frame)
            else:
                await self.unmatched.put(frame)

    async def call(self, method: str, sign: bool = False, **params: Any) -> dict[str, Any]:
        if sign:
            params = signed(self.sim, params)
        request_id = next(_ids)
        future = asyncio.get_running_loop().create_future()
        self._answers[request_id] = future
        await self.ws.send_json({"id": request_id, "method": method, "params": params})
        return await asyncio.wait_for(future, 5)

    async def event(self, kind: str) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.events.get(), 5)
            if frame["event"]["e"] == kind:
                return frame

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


def signed(sim: Simulator, params: dict[str, Any]) -> dict[str, Any]:
    params = {**params, "apiKey": KEY, "timestamp": sim.clock.now_ms()}
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    signature = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {**params, "signature": signature}


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.ws_api_url)
        conn = Api(ws, sim)
        yield conn
        await conn.close()


async def test_public_and_signed_requests_and_errors(api: Api, sim: Simulator) -> None:
    ping = await api.call("ping")
    assert (ping["status"], ping["result"]) == (200, {})
    assert ping["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    assert (await api.call("v3/time"))["result"]["serverTime"] > 0
    prices = await api.call("ticker.price", symbols=["BTCUSDT", "ETHUSDT"])
    assert [p["symbol"] for p in prices["result"]] == ["BTCUSDT", "ETHUSDT"]
    account = await api.call("account.status", sign=True)
    assert account["status"] == 200 and account["result"]["accountType"] == "SPOT"
    unsigned = await api.call("account.status")
    assert (unsigned["status"], unsigned["error"]["code"]) == (400, -1102)
    wrong = await api.call("account.status", **{**signed(sim, {}), "signature": "0" * 64})
    assert wrong["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
    unknown = await api.call("order.amend.keepPriority")
    assert unknown["status"] == 400 and unknown["error"]["code"] == -1020
    await api.ws.send_str("{not json")
    invalid = await asyncio.wait_for(api.unmatched.get(), 5)
    assert invalid == {
        "id": None,
        "status": 400,
        "error": {"code": -1135, "msg": "Invalid JSON Request"},
    }
    bad = await api.call("order.place", sign=True, symbol="BTCUSDT", side="BUY", type="MARKET")
    assert bad["error"]["code"] == -1102


async def test_logon_subscribe_and_stop_fill_events(api: Api, sim: Simulator) -> None:
    logon = await api.call("session.logon", sign=True)
    assert logon["result"]["apiKey"] == KEY and logon["result"]["userDataStream"] is False
    sub = await api.call("userDataStream.subscribe")
    assert sub["result"] == {"subscriptionId": 0}
    last = sim.state.tape("BTCUSDT").last_price
    stop = (last * Decimal("0.95")).quantize(Decimal("0.01"))
    placed = await api.call(
        "order.place",
        timestamp=sim.clock.now_ms(),
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_LOSS",
        quantity="0.01",
        stopPrice=str(stop),
        newClientOrderId="stop-1",
    )
    assert placed["status"] == 200, placed
    assert [r["rateLimitType"] for r in placed["rateLimits"]] == [
        "ORDERS",
        "ORDERS",
        "REQUEST_WEIGHT",
    ]
    new = (await api.event("executionReport"))["event"]
    assert (new["x"], new["X"], new["o"], new["c"], new["w"]) == (
        "NEW",
        "NEW",
        "STOP_LOSS",
        "stop-1",
        False,
    )
    assert new["P"] == f"{stop:.8f}" and new["i"] == placed["result"]["orderId"]
    position = (await api.event("outboundAccountPosition"))["event"]
    assert {b["a"]: b["l"] for b in position["B"]}["BTC"] == "0.01000000"
    shock = sim.controls.shock("BTCUSDT", Decimal(-10))
    frame = await api.event("executionReport")
    fill = frame["event"]
    assert frame["subscriptionId"] == 0
    assert (fill["x"], fill["X"], fill["l"], fill["z"], fill["L"]) == (
        "TRADE",
        "FILLED",
        "0.01000000",
        "0.01000000",
        shock["price"],
    )
    assert fill["t"] > 0 and fill["N"] == "USDT" and Decimal(fill["n"]) > 0
    assert fill["T"] == shock["time"] and fill["m"] is False and fill["O"] == new["O"]
    assert Decimal(fill["Z"]) == Decimal(fill["L"]) * Decimal("0.01") == Decimal(fill["Y"])
    after = (await api.event("outboundAccountPosition"))["event"]
    assert {b["a"]: b["f"] for b in after["B"]}["BTC"] == "0.99000000"
    status = await api.call(
        "order.status", timestamp=sim.clock.now_ms(), symbol="BTCUSDT", orderId=new["i"]
    )
    assert status["result"]["status"] == "FILLED"
    assert (await api.call("session.status"))["result"]["userDataStream"] is True
    assert (await api.call("userDataStream.unsubscribe"))["result"] == {}


async def test_signature_subscription_cancel_and_open_orders(api: Api, sim: Simulator) -> None:
    sub = await api.call("userDataStream.subscribe.signature", sign=True)
    assert sub["result"] == {"subscriptionId": 0}
    again = await api.call("userDataStream.subscribe.signature", sign=True)
    assert again["error"]["code"] == -2035
    price = str((sim.state.tape("BTCUSDT").last_price * Decimal("0.8")).quantize(Decimal("0.01")))
    placed = await api.call(
        "order.place",
        sign=True,
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price=price,
    )
    order_id = placed["result"]["orderId"]
    orders_10s = placed["rateLimits"][0]
    assert (orders_10s["rateLimitType"], orders_10s["interval"], orders_10s["count"]) == (
        "ORDERS",
        "SECOND",
        1,
    )
    opened = await api.call("openOrders.status", sign=True, symbol="BTCUSDT")
    assert [o["orderId"] for o in opened["result"]] == [order_id]
    canceled = await api.call(
        "order.cancel", sign=True, symbol="BTCUSDT", orderId=order_id, newClientOrderId="my-cancel"
    )
    assert canceled["result"]["status"] == "CANCELED"
    await api.event("executionReport")  # NEW
    report = (await api.event("executionReport"))["event"]
    assert (report["x"], report["X"], report["c"], report["C"]) == (
        "CANCELED",
        "CANCELED",
        "my-cancel",
        placed["result"]["clientOrderId"],
    )


async def test_python_binance_ws_methods_and_user_socket(sim: Simulator) -> None:
    client = make_client(sim)
    client.ws_api = WebsocketAPI(url=sim.ws_api_url)
    client.ws_api.TIMEOUT = 0.5  # its read loop's poll: closing waits for it (10 s by default)
    try:
        placed = await client.ws_create_order(
            symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
        )
        assert placed["status"] == "FILLED"
        got = await client.ws_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
        assert got["orderId"] == placed["orderId"]
        assert (await client.ws_get_account())["accountType"] == "SPOT"
        with pytest.raises(BinanceAPIException) as err:
            await client.ws_create_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="5")
        assert err.value.code == -2010
        bsm = BinanceSocketManager(client)
        async with bsm.user_socket() as socket:
            await client.ws_create_order(
                symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
            )
            kinds = []
            while "TRADE" not in kinds:
                msg = await asyncio.wait_for(socket.recv(), 5)
                if msg.get("e") == "executionReport":
                    kinds.append(msg["x"])
            assert kinds == ["NEW", "TRADE"]
    finally:
        await client.close_connection()


async def test_a_reset_is_heard_as_balance_updates(api: Api, sim: Simulator) -> None:
    await api.call("userDataStream.subscribe.signature", sign=True)
    await api.call(
        "order.place", sign=True, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01"
    )
    await api.event("outboundAccountPosition")
    sim.controls.reset()
    updates = [(await api.event("balanceUpdate"))["event"] for _ in range(2)]
    assert {u["a"] for u in updates} == {"BTC", "USDT"}
    btc = next(u for u in updates if u["a"] == "BTC")
    assert Decimal(btc["d"]) == Decimal("-0.00999")  # 0.01 bought, 0.1 % paid in BTC
    position = (await api.event("outboundAccountPosition"))["event"]
    assert {b["a"]: b["f"] for b in position["B"]}["USDT"] == "10000.00000000"
