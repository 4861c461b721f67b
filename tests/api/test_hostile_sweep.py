"""A bounded sweep of hostile input against the real service on a real uvicorn: bad requests
(REST, and raw HTTP a client library would not send) and hostile /ws frames. Nothing may be
answered 5xx, no /ws connection may end with 1011 (internal error), and the server may log no
exception. `pytest -s tests/api/test_hostile_sweep.py` prints the tally."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from service.container import Service
from simulator import Simulator
from tests.api import support

TOKEN = "sw33p-t0ken+/=" + "a9" * 8
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
SERVER_ERRORS = range(500, 600)
WS_OK_CLOSES = {1000, 1001, 1008, 1009, 1013}  # never 1011 (an exception in the server)


@dataclass
class Tally:
    requests: int = 0
    frames: int = 0  # hostile /ws frames and refused handshakes
    flood: int = 0  # subscribe messages sent without reading the replies
    failures: list[str] = field(default_factory=list)

    def answer(self, what: str, status: int) -> None:
        self.requests += 1
        if status in SERVER_ERRORS:
            self.failures.append(f"{what}: HTTP {status}")


def order_bodies() -> list[bytes]:
    """Order bodies: non-finite and absurd numbers, wrong types, broken and deep JSON."""
    raw_numbers = ["NaN", "Infinity", "-Infinity", "1e999999", "-0", "0", "1E+17", "1e-30",
                   "123456789012345678901234567890123456789", "0.0000000000001", "true", "null",
                   "[]", "{}", '"NaN"', '"inf"', '"sNaN"', '"1e400"', '"-1"', '"0x10"', '" 1 "',
                   '"1_000"', '"١٢"']  # fmt: skip
    bodies = [json.dumps(ORDER).replace('"0.001"', number).encode() for number in raw_numbers]
    bodies += [
        b"{",
        b"",
        b"null",
        b"[]",
        b"1",
        b'"text"',
        b'{"symbol":',
        b"\xff\xfe\x00",
        b"\xef\xbb\xbf" + json.dumps(ORDER).encode(),  # a byte-order mark
        b"[" * 20_000 + b"]" * 20_000,  # deep nesting inside the body limit
        b'{"symbol": ' + b"[" * 15_000 + b"]" * 15_000 + b"}",
        json.dumps({**ORDER, "symbol": "\u0000" * 10}).encode(),
        json.dumps({**ORDER, "symbol": "БТКUSDT"}).encode(),
        json.dumps({**ORDER, "variant": "A" * 5000}).encode(),
        json.dumps({**ORDER, "side": ["BUY"] * 3000}).encode(),
        json.dumps({**ORDER, "x" * 30_000: 1}).encode(),
        json.dumps([ORDER] * 300).encode(),
        json.dumps({**ORDER, "quantity": {"$gt": 0}}).encode(),
    ]
    return bodies


def paths() -> list[str]:
    long = "X" * 8000
    return [
        f"/symbols/{long}", "/symbols/BTC%00USDT", "/symbols/%F0%9F%92%A9", "/symbols/..%2F..",
        "/symbols/%E2%80%AE", f"/positions/{long}/BTCUSDT/close", "/positions/%00/BTCUSDT/close",
        "/positions/A/%FF%FE/close", f"/candles/{long}", "/candles/BTCUSDT?limit=-1",
        "/candles/BTCUSDT?limit=100000000000000000000000", "/candles/BTCUSDT?start=1e400",
        "/candles/BTCUSDT?start=NaN&end=Infinity", "/candles/BTCUSDT?start=5&end=1",
        f"/candles?symbol={long}", "/ticks?limit=0", "/ticks?symbol=%00", "/trades?since=abc",
        f"/trades?symbol={long}&variant={long}", "/signals?limit=NaN",
        "/symbols/BNBUSDT?force=maybe",
        "/static/../config.py", "/static/%2e%2e/%2e%2e/config.py", f"/static/{long}",
        "/static/vendor/../../app.py", "/nowhere", "/ws", "/docs/../openapi.json",
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def guarded_server(sim: Simulator, tmp_path: Path) -> AsyncIterator[tuple[Service, str]]:
    cfg = support.settings(tmp_path, api_token=TOKEN, cors_origins="https://desk.example")
    service = support.simulated_service(sim, cfg)
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        yield service, address


async def rest_sweep(http: httpx.AsyncClient, tally: Tally) -> None:
    async def fire(method: str, path: str, **kwargs: Any) -> None:
        try:
            r = await http.request(method, path, **kwargs)
        except httpx.TransportError:  # the server closed the connection (e.g. after a 413)
            tally.answer(f"{method} {path[:60]}", 0)
            return
        tally.answer(f"{method} {path[:60]} {str(kwargs)[:80]}", r.status_code)

    for body in order_bodies():
        await fire("POST", "/orders", content=body, headers={**AUTH, **JSON})
        await fire("POST", "/orders", content=body, headers=JSON)  # no token
    for path in paths():
        for method in ("GET", "POST", "DELETE"):
            await fire(method, path, headers=AUTH)
    content_types = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                     "application/xml", "application/jsonx", "application/json; charset=evil",
                     "application/problem+json", "", "*/*"]  # fmt: skip
    for content_type in content_types:
        body = json.dumps(ORDER).encode()
        await fire("POST", "/orders", content=body, headers={**AUTH, "Content-Type": content_type})
    headers_sets: list[dict[str, str]] = [
        {"Host": "evil.example"}, {"Host": ""}, {"Host": "127.0.0.1:abc"},
        {"Host": "x" * 4000}, {"Origin": "http://evil.example"}, {"Origin": "null"},
        {"Origin": "http://"}, {"Origin": "https://desk.example"},
        {"Authorization": "Bearer " + "t" * 10_000}, {"Authorization": "Basic eDp5"},
        {"Authorization": "Bearer"}, {"Accept": "text/html"}, {"Cookie": "a=" + "b" * 4000},
    ]  # fmt: skip
    for extra in headers_sets:
        for method, path in (("GET", "/health"), ("POST", "/positions/A/BTCUSDT/close")):
            await fire(method, path, headers={**AUTH, **extra})
    for method in ("PUT", "PATCH", "TRACE", "OPTIONS"):
        await fire(method, "/orders", headers={**AUTH, "Origin": "http://evil.example"})
        await fire(method, "/symbols/BTCUSDT", headers=AUTH)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(300):
            yield b" " * 1000

    await fire("POST", "/orders", content=chunks(), headers={**AUTH, **JSON})
    await fire("POST", "/orders", content=b"x" * 10_000_000, headers={**AUTH, **JSON})
    # Races on the symbol set and on one position.
    races = [http.delete("/symbols/ETHUSDT", params={"force": "true"}, headers=AUTH)
             for _ in range(3)]  # fmt: skip
    races += [http.post("/symbols/BNBUSDT", headers=AUTH) for _ in range(3)]
    races += [http.post("/positions/A/BTCUSDT/close", headers=AUTH) for _ in range(3)]
    for r in await asyncio.gather(*races):
        tally.answer(f"race {r.request.method} {r.request.url.path}", r.status_code)


RAW_REQUESTS = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
    b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/json\r\n\r\nzz\r\n",
    b"GET /health HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /health HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
    *(
        b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + length
        + b"\r\n\r\n{}"
        for length in (
            b"Content-Length: abc",
            b"Content-Length: -1",
            b"Content-Length: 99999999999999999999",
            b"Content-Length: 100",  # more declared than sent: the client goes quiet
        )
    ),
]


async def raw_sweep(address: str, tally: Tally) -> None:
    """Requests no client library sends: the server answers them, never with a 5xx."""
    host, port = address.split(":")
    for raw in RAW_REQUESTS:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(raw)
            await writer.drain()
            head = await asyncio.wait_for(reader.read(200), 10)
        except (ConnectionError, TimeoutError):
            head = b""
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
        tally.answer(f"raw {raw[:40]!r}", status)


def ws_frames() -> list[str | bytes]:
    many = [f"S{n}" for n in range(5000)]
    return [
        "not json", "", " ", "null", "[]", "1", '"subscribe"', "{}", '{"op": null}',
        '{"op": "subscribe", "channels": "tick"}', '{"op": "subscribe", "symbols": "BTCUSDT"}',
        '{"op": "subscribe", "symbols": [1, 2, {"a": 1}]}',
        json.dumps({"op": "subscribe", "symbols": ["БТКUSDT", "\u0000", "BTC\u202eUSDT"]}),
        json.dumps({"op": "subscribe", "symbols": ["NOPEUSDT"] * 64}),
        json.dumps({"op": "subscribe", "symbols": many}),
        json.dumps({"op": "subscribe", "channels": ["tick"] * 65}),
        json.dumps({"op": "subscribe", "channels": ["x" * 3000]}),
        json.dumps({"op": "unsubscribe", "symbols": ["A" * 3000]}),
        json.dumps({"op": "subscribe", "k" * 3500: 1}),
        "[" * 4000 + "]" * 4000, '{"op": ' + "[" * 2000 + "]" * 2000 + "}",
        '{"op": "subscribe", "symbols": ["BTCUSDT"], "op": "unsubscribe"}',
        '{"op": "subscribe", "channels": ["tick"], "symbols": ["ethusdt"]}',
        b"\xff\xfe\x00\x01", b"\x80" * 100, json.dumps({"op": "subscribe"}).encode(),
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    ]  # fmt: skip


async def ws_reply_or_close(ws: ClientConnection, tally: Tally, what: str) -> bool:
    """Reads what the frame caused: a reply, or a close that must not be 1011. False: closed."""
    try:
        async with asyncio.timeout(5):
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] == "error" or (
                    msg["type"] == "status" and "subscription" in msg["data"]
                ):
                    return True
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else 1006
        if code not in WS_OK_CLOSES:
            tally.failures.append(f"ws {what}: closed {code}")
        return False


async def ws_sweep(address: str, tally: Tally) -> None:
    url = f"ws://{address}/ws?token={TOKEN.replace('+', '%2B').replace('/', '%2F')}"
    url = url.replace("=", "%3D").replace("token%3D", "token=")
    ws = await connect(url, max_size=None)
    await ws.recv()  # the snapshot
    quiet = ["candle", "candle_update", "status", "signal", "order", "trade", "position"]
    await ws.send(json.dumps({"op": "unsubscribe", "channels": quiet}))  # only replies from now
    await ws.recv()
    for frame in ws_frames():
        tally.frames += 1
        await ws.send(frame)
        if not await ws_reply_or_close(ws, tally, repr(frame)[:60]):
            ws = await connect(url, max_size=None)
            await ws.recv()
    # Frames the server refuses by closing: too big (1009), a flood without reading (1013).
    for frame in (json.dumps({"op": "subscribe", "symbols": ["B" * 20] * 400_000}),):
        tally.frames += 1
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)
        await ws_reply_or_close(ws, tally, "9.6 MB frame")
    flood = await connect(url, max_size=None, max_queue=1)
    for _ in range(3000):
        tally.flood += 1
        try:
            await flood.send('{"op": "subscribe", "channels": ["tick"]}')
        except ConnectionClosed:
            break
    await ws_reply_or_close(flood, tally, "flood")
    # Handshakes the guard refuses.
    for kwargs in ({"origin": "http://evil.example"}, {"origin": "null"}, {}):
        tally.frames += 1
        target = url if kwargs else f"ws://{address}/ws?token=wrong"
        try:
            async with connect(target, **kwargs) as refused:  # type: ignore[arg-type]
                await ws_reply_or_close(refused, tally, f"handshake {kwargs}")
        except InvalidStatus as exc:
            tally.failures.append(f"ws handshake {kwargs}: HTTP {exc.response.status_code}")
    await ws.close()


@pytest.mark.e2e  # a real server and ~20 s of requests
@pytest.mark.timeout(180)
async def test_hostile_input_never_gets_a_5xx(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    tally = Tally()
    async with guarded_server(sim, tmp_path) as (service, address):
        http = httpx.AsyncClient(base_url=f"http://{address}", timeout=30)
        async with http:
            bought = await http.post("/orders", json=ORDER, headers=AUTH)
            assert bought.status_code == 200, bought.text
            await rest_sweep(http, tally)
            await raw_sweep(address, tally)
            await ws_sweep(address, tally)
            assert (await http.get("/health")).json()["status"] in ("ok", "degraded")
            assert service.trading_ready  # still serving and trading
    crashes = [r.getMessage() for r in caplog.records if r.exc_info is not None]
    crashes += [r.getMessage() for r in caplog.records if "Exception in ASGI" in r.getMessage()]
    tally.failures += [f"logged exception: {c[:120]}" for c in crashes]
    print(  # the tally the issue asks for (pytest -s shows it)
        f"\nhostile sweep: {tally.requests} bad requests, {tally.frames} hostile /ws frames and"
        f" handshakes, a flood of {tally.flood} /ws messages;"
        f" {len(tally.failures)} answered 5xx, closed 1011 or logged an exception"
    )
    assert tally.requests >= 200 and tally.frames >= 30
    assert tally.failures == [], "\n".join(tally.failures)
