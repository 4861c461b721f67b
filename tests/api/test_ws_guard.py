"""/ws on a real uvicorn: Origin and Host refused with 1008, the token parsed like REST's
(header first), subscriptions only to streamed symbols and known channels, bounded messages
and replies."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.hub import SIGNAL, Event
from service.container import Service
from tests.api import support
from tests.api.test_ws import calm, quiet, quiet_service, recv, recv_type

__all__ = ["quiet"]  # the fixture, imported

TOKEN = "ws-gu4rd+/=" + "f6" * 8


async def closed_with(url: str, **kwargs: object) -> tuple[int, str]:
    """The close code and reason of a connection the server refuses."""
    async with connect(url, **kwargs) as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            await recv(ws)
    frame = closed.value.rcvd
    assert frame is not None
    return frame.code, frame.reason


async def test_other_sites_and_unknown_hosts_are_closed_with_1008(
    quiet: tuple[Service, str],
) -> None:
    _, address = quiet
    url = f"ws://{address}/ws"
    for origin in ("http://evil.example", "null", f"http://{address}.evil.example"):
        code, reason = await closed_with(url, origin=origin)
        assert code == 1008 and "origin" in reason, origin
    host, port = address.split(":")
    rebound = socket.create_connection((host, int(port)))  # evil.example, re-pointed at us
    code, reason = await closed_with(f"ws://evil.example:{port}/ws", sock=rebound)
    assert code == 1008 and "Host" in reason
    # The dashboard's own page: its origin is the service's.
    async with connect(url, origin=f"http://{address}") as ws:  # type: ignore[arg-type]
        assert (await recv(ws))["type"] == "snapshot"
    async with connect(url) as ws:  # no Origin: not a browser
        assert (await recv(ws))["type"] == "snapshot"


async def test_listed_origin_and_token_precedence(tmp_path: Path) -> None:
    cfg = support.settings(tmp_path, api_token=TOKEN, cors_origins="https://desk.example")
    service = quiet_service(cfg)
    async with support.live_server(service) as address:
        url = f"ws://{address}/ws"
        header = {"Authorization": f"Bearer {TOKEN}"}
        wrong = {"Authorization": "Bearer wrong"}
        query = f"?token={TOKEN.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')}"
        async with connect(url, additional_headers=header, origin="https://desk.example") as ws:  # type: ignore[arg-type]
            assert (await recv(ws))["type"] == "snapshot"
        async with connect(url + "?token=wrong", additional_headers=header) as ws:
            assert (await recv(ws))["type"] == "snapshot"  # the header wins
        code, _ = await closed_with(url + query, additional_headers=wrong)
        assert code == 1008  # the header wins, also when it is the wrong one
        async with connect(url + query) as ws:  # a browser: the query only
            assert (await recv(ws))["type"] == "snapshot"
        code, _ = await closed_with(url + query, origin="https://other.example")
        assert code == 1008


async def test_subscriptions_only_to_streamed_symbols_and_known_channels(
    quiet: tuple[Service, str],
) -> None:
    service, address = quiet
    async with connect(f"ws://{address}/ws", max_size=None) as ws:
        await calm(ws)
        await ws.send(json.dumps({"op": "subscribe", "symbols": ["ethusdt"]}))
        assert (await recv(ws))["data"]["subscription"]["symbols"] == ["ETHUSDT"]
        many = [f"X{n:05d}USDT" for n in range(60)]
        hostile = [
            json.dumps({"op": "subscribe", "symbols": ["NOPEUSDT", "ETHUSDT"]}),
            json.dumps({"op": "unsubscribe", "symbols": many}),
            json.dumps({"op": "subscribe", "symbols": ["A" * 3000]}),
            json.dumps({"op": "subscribe", "channels": ["x" * 3000]}),
            json.dumps({"op": "subscribe", "channels": ["tick"] * 65}),
            json.dumps({"op": "subscribe", "k" * 3000: 1}),
            json.dumps({"op": "subscribe", "symbols": [f"S{n}" for n in range(5_000)]}),
        ]
        for text in hostile:
            await ws.send(text)
            err = await recv(ws)
            assert err["type"] == "error", text[:80]
            assert len(json.dumps(err)) < 800, (text[:80], err)  # never the input echoed back
        # Nothing changed: still ETHUSDT only.
        await ws.send(json.dumps({"op": "subscribe", "channels": ["tick"]}))
        status = await recv(ws)
        assert status["data"]["subscription"]["symbols"] == ["ETHUSDT"]
        service.hub.publish(Event(SIGNAL, {"s": "BTC"}, "BTCUSDT"))
        service.hub.publish(Event(SIGNAL, {"s": "ETH"}, "ETHUSDT"))
        assert (await recv_type(ws, "signal"))["data"] == {"s": "ETH"}


async def test_a_frame_above_the_limit_closes_the_connection_unread(
    quiet: tuple[Service, str],
) -> None:
    service, address = quiet
    ws = await connect(f"ws://{address}/ws", max_size=None)
    await calm(ws)
    with pytest.raises(ConnectionClosed) as closed:
        await ws.send(json.dumps({"op": "subscribe", "symbols": ["B" * 20] * 400_000}))  # 9.6 MB
        await recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    # The service is unharmed: a new client gets its snapshot and live events.
    async with connect(f"ws://{address}/ws") as ws:
        await calm(ws)
        service.hub.publish(Event(SIGNAL, {"n": 1}, "BTCUSDT"))
        assert (await recv_type(ws, "signal"))["data"] == {"n": 1}
