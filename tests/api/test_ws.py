"""/ws on a real uvicorn with `websockets` clients: snapshot, subscriptions, seq, slow clients,
auth. The service runs for real (paper mode against an unreachable exchange, so nothing but
the test publishes on its hub, or against the simulator for live candles)."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from binance import AsyncClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.app import GC_THRESHOLDS
from config import Settings
from core.clock import SystemClock
from core.hub import CANDLE, ORDER, SIGNAL, TICK, Event
from service.container import Service
from simulator import Simulator
from tests.api import support
from wiring.compose import build_service

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

TOKEN = "ws-t0ken-" + "d4" * 12


def quiet_service(cfg: Settings) -> Service:
    """The real service whose exchange is unreachable: the hub carries only what tests publish."""
    client = AsyncClient(None, None, testnet=True)
    client.API_TESTNET_URL = cfg.binance_rest_url
    port = support.free_port()
    client.API_TESTNET_URL = f"http://127.0.0.1:{port}/api"
    return build_service(
        cfg, mode="paper", clock=SystemClock(), client=client, stream_url=f"ws://127.0.0.1:{port}/"
    )


@pytest.fixture
async def quiet(tmp_path: Path) -> AsyncIterator[tuple[Service, str]]:
    service = quiet_service(support.settings(tmp_path, ws_client_queue=20))
    async with support.live_server(service) as address:
        yield service, address


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def calm(ws: ClientConnection) -> None:
    """Read the snapshot and stop `status` events (the quiet service's retries publish them)."""
    assert (await recv(ws))["type"] == "snapshot"
    await ws.send(json.dumps({"op": "unsubscribe", "channels": ["status"]}))
    reply = await recv(ws)
    assert reply["seq"] == 2 and "status" not in reply["data"]["subscription"]["channels"]


async def recv_type(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            msg = await recv(ws, timeout)
            if msg["type"] == kind:
                return msg


async def test_snapshot_first_then_live_candles(sim: Simulator, tmp_path: Path) -> None:
    service = support.simulated_service(sim, support.settings(tmp_path))
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        async with connect(f"ws://{address}/ws") as ws:
            first = await recv(ws)
            assert first["type"] == "snapshot" and first["seq"] == 1
            data = first["data"]
            assert set(data) >= {"symbols", "candles", "open_candles", "positions", "health"}
            assert len(data["candles"]["BTCUSDT"]) > 0  # warm-up history, ready to draw
            assert data["health"]["mode"] == "simulated"
            candle = await recv_type(ws, "candle", timeout=10)  # a market minute ~ 1 s
            assert set(candle) == {"type", "seq", "ts", "data"}
            assert candle["data"]["close_time"] == candle["data"]["open_time"] + 59_999
            update = await recv_type(ws, "candle_update", timeout=5)
            assert update["data"]["closed"] is False
            assert candle["data"]["closed"] is True


async def test_seq_rises_by_one_and_ticks_only_when_asked(quiet: tuple[Service, str]) -> None:
    service, address = quiet
    async with connect(f"ws://{address}/ws") as ws:
        await calm(ws)
        service.hub.publish(Event(TICK, {"price": "1"}, "BTCUSDT"))
        service.hub.publish(Event(SIGNAL, {"n": 1}, "BTCUSDT"))
        got = await recv(ws)
        assert got["type"] == "signal" and got["seq"] == 3  # the tick was not sent

        await ws.send(json.dumps({"op": "subscribe", "channels": ["tick"]}))
        reply = await recv(ws)
        assert reply["type"] == "status" and reply["seq"] == 4
        assert "tick" in reply["data"]["subscription"]["channels"]
        for n in range(5):
            service.hub.publish(Event(TICK, {"n": n}, "BTCUSDT", ts_ms=1_000 + n))
        ticks = [await recv(ws) for _ in range(5)]
        assert [t["seq"] for t in ticks] == [5, 6, 7, 8, 9]
        assert [t["data"]["n"] for t in ticks] == [0, 1, 2, 3, 4]
        assert [t["ts"] for t in ticks] == [1000, 1001, 1002, 1003, 1004]


async def test_symbol_filter_and_unsubscribe(quiet: tuple[Service, str]) -> None:
    service, address = quiet
    async with connect(f"ws://{address}/ws") as ws:
        await calm(ws)
        await ws.send(json.dumps({"op": "subscribe", "symbols": ["ethusdt"]}))
        assert (await recv(ws))["data"]["subscription"]["symbols"] == ["ETHUSDT"]
        service.hub.publish(Event(CANDLE, {"s": "BTC"}, "BTCUSDT"))
        service.hub.publish(Event(CANDLE, {"s": "ETH"}, "ETHUSDT"))
        assert (await recv(ws))["data"] == {"s": "ETH"}

        await ws.send(json.dumps({"op": "unsubscribe", "channels": ["candle"]}))
        await recv(ws)
        service.hub.publish(Event(CANDLE, {"s": "ETH"}, "ETHUSDT"))
        service.hub.publish(Event(SIGNAL, {"s": "sig"}, "ETHUSDT"))
        assert (await recv(ws))["type"] == "signal"


async def test_bad_messages_get_an_error_and_the_connection_stays(
    quiet: tuple[Service, str],
) -> None:
    _, address = quiet
    async with connect(f"ws://{address}/ws") as ws:
        await calm(ws)
        for bad in ("not json", '{"op": "dance"}', '{"op": "subscribe", "channels": ["x"]}',
                    '{"op": "subscribe", "extra": 1}', "[]"):  # fmt: skip
            await ws.send(bad)
            err = await recv(ws)
            assert err["type"] == "error" and err["data"]["detail"], bad
        await ws.send(json.dumps({"op": "subscribe", "channels": ["tick"]}))
        assert (await recv(ws))["type"] == "status"


async def test_a_slow_client_is_closed_with_1013_while_another_keeps_up(
    quiet: tuple[Service, str],
) -> None:
    service, address = quiet
    host, port = address.split(":")
    # The slow client reads nothing (a modest receive buffer, a one-frame queue) until the end.
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    slow = await connect(f"ws://{address}/ws", sock=sock, max_queue=1, max_size=None)
    fast = await connect(f"ws://{address}/ws", max_size=None)
    assert (await recv(fast))["type"] == "snapshot"
    payload = base64.b64encode(os.urandom(96_000)).decode()  # 128 kB (even if compressed)
    received: list[int] = []  # the signals' n
    seqs: list[int] = []

    async def read_fast() -> None:
        while len(received) < 150:
            msg = await recv(fast)
            seqs.append(msg["seq"])
            if msg["type"] == "signal":  # (status events of the service may come in between)
                received.append(msg["data"]["n"])

    reader = asyncio.create_task(read_fast())
    for n in range(150):
        service.hub.publish(Event(SIGNAL, {"n": n, "pad": payload}, "BTCUSDT"))
        await asyncio.sleep(0.002)  # the fast client keeps up at this pace
    await asyncio.wait_for(reader, 20)
    assert received == list(range(150))  # every message, in order
    assert seqs == list(range(2, 2 + len(seqs)))  # seq without a gap
    await support.wait_for(lambda: service.metrics.ws_dropped._value.get() == 1, what="drop")

    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(20):
            while True:
                await slow.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    service.hub.publish(Event(SIGNAL, {"after": True}, "BTCUSDT"))
    assert (await recv_type(fast, "signal"))["data"] == {"after": True}
    await fast.close()


async def test_token_required_when_set(tmp_path: Path) -> None:
    service = quiet_service(support.settings(tmp_path, api_token=TOKEN))
    async with support.live_server(service) as address:
        for url, headers in (
            (f"ws://{address}/ws", None),
            (f"ws://{address}/ws?token=wrong", None),
            (f"ws://{address}/ws", {"Authorization": "Bearer wrong"}),
        ):
            async with connect(url, additional_headers=headers) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await recv(ws)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        async with connect(f"ws://{address}/ws?token={TOKEN}") as ws:
            assert (await recv(ws))["type"] == "snapshot"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(f"ws://{address}/ws", additional_headers=headers) as ws:
            assert (await recv(ws))["type"] == "snapshot"


async def test_no_token_needed_when_unset(quiet: tuple[Service, str]) -> None:
    _, address = quiet
    async with connect(f"ws://{address}/ws?token=anything") as ws:
        assert (await recv(ws))["type"] == "snapshot"


async def test_gc_tuned_while_serving_then_restored(tmp_path: Path) -> None:
    before = gc.get_threshold()
    service = quiet_service(support.settings(tmp_path))
    async with support.live_server(service):
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_an_odd_order_record_is_sent_as_published_and_nothing_breaks(
    quiet: tuple[Service, str],
) -> None:
    service, address = quiet
    async with connect(f"ws://{address}/ws") as ws:
        await calm(ws)
        service.hub.publish(Event(ORDER, {"type": "filled", "quantity": "x"}, "BTCUSDT"))
        odd = await recv_type(ws, "order")
        assert odd["data"] == {"type": "filled", "quantity": "x"}
        service.hub.publish(Event(SIGNAL, {"n": 1}, "BTCUSDT"))
        assert (await recv_type(ws, "signal"))["seq"] == odd["seq"] + 1


async def test_log_lines_go_only_to_clients_that_gave_the_token(tmp_path: Path) -> None:
    secret = "sk-" + "9f" * 16
    cfg = support.settings(
        tmp_path, api_token=TOKEN, binance_api_key=secret, binance_api_secret="s" * 64
    )
    service = quiet_service(cfg)
    async with support.live_server(service) as address:
        url = f"ws://{address}/ws?token={TOKEN}"
        async with connect(url) as ws:
            snap = await recv(ws)
            assert isinstance(snap["data"]["logs"], list)
            # A WARNING anywhere in the service (here one that holds the API key): a `log`
            # event, scrubbed like the log file.
            logging.getLogger("execution.test").warning("refused with key %s, retrying", secret)
            msg = await recv_type(ws, "log")
            line = msg["data"]
            assert line["level"] == "WARNING" and line["logger"] == "execution.test"
            assert "refused with key" in line["message"] and secret not in json.dumps(msg)
            logging.getLogger("execution.test").info("an INFO line is not sent")
        async with connect(url) as ws:  # a page that connects later gets the newest lines
            snap = await recv(ws)
            assert any("refused with key" in x["message"] for x in snap["data"]["logs"])
            assert not any("INFO line" in x["message"] for x in snap["data"]["logs"])
            await ws.send(json.dumps({"op": "unsubscribe", "channels": ["log"]}))
            reply = await recv_type(ws, "error")
            assert "channels.0" in reply["data"]["detail"]  # not a channel a client picks
            assert "'log'" not in reply["data"]["detail"]
    # Without API_TOKEN nobody has a token: no log line goes to any page.
    open_service = quiet_service(support.settings(tmp_path / "open"))
    async with (
        support.live_server(open_service) as address,
        connect(f"ws://{address}/ws") as ws,
    ):
        snap = await recv(ws)
        assert snap["data"]["logs"] is None
        assert "log" not in snap["data"]["subscription"]["channels"]
        logging.getLogger("execution.test").warning("not for an open page")
        with pytest.raises(TimeoutError):
            await recv_type(ws, "log", timeout=1.5)


@pytest.mark.parametrize("stop_mode", ["exchange", "service"])
async def test_the_position_event_of_a_fill_carries_its_stop_price(
    sim: Simulator, tmp_path: Path, stop_mode: str
) -> None:
    """The first `position` event after a BUY says where its stop-loss sells, as GET /positions
    does afterwards: the page draws it as sent and computes none."""
    service = support.simulated_service(sim, support.settings(tmp_path, stop_mode=stop_mode))
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        async with connect(f"ws://{address}/ws") as ws:
            assert (await recv(ws))["type"] == "snapshot"
            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "B"}
                assert (await http.post("/orders", json=order)).status_code == 200
                async with asyncio.timeout(10):
                    while True:
                        event = await recv_type(ws, "position")
                        d = event["data"]
                        if (d["variant"], d["symbol"]) == ("B", "BTCUSDT") and d["is_open"]:
                            break
                await service.executor.wait_idle()
                rows = (await http.get("/positions/BTCUSDT")).json()
    row = next(r for r in rows if r["variant"] == "B")
    assert d["stop_price"] is not None
    assert row["stop_price"] == d["stop_price"]
    entry = Decimal(row["entry_price"])
    if stop_mode == "service":
        assert Decimal(d["stop_price"]) == entry * Decimal("0.90")
    else:  # the order's price on the exchange: the level rounded down to the tick
        assert Decimal(row["stop_order"]["stop_price"]) == Decimal(d["stop_price"])
        assert (
            entry * Decimal("0.90") - Decimal("0.01")
            < Decimal(d["stop_price"])
            <= entry * Decimal("0.90")
        )
