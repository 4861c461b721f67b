"""No log line shows a token: the service's own log handler (service.logs.log_handler) on a
real uvicorn with its access log on, fed tokens in every way clients send them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from config import Settings
from service.logs import MASK, SHORT_SECRET, encodings, log_handler
from tests.api import support
from tests.api.test_ws import quiet_service, recv


@contextlib.contextmanager
def service_log(settings: Settings) -> Iterator[io.StringIO]:
    """What the service's handler writes, while it is installed on the root logger."""
    stream = io.StringIO()
    handler = log_handler(settings, stream)
    root = logging.getLogger()
    level = root.level
    # A uvicorn started with access_log=False (other tests') stops its access logger's
    # propagation for the whole process; the service's one server never does.
    access = logging.getLogger("uvicorn.access")
    propagate = access.propagate
    access.propagate = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        access.propagate = propagate


def leaks(text: str, secret: str) -> list[str]:
    """The forms of `secret` found in `text` (short secrets: as a whole word only)."""
    found = []
    for form in encodings(secret):
        if len(secret) >= SHORT_SECRET:
            hit = form.lower() in text.lower()
        else:
            pattern = rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])"
            hit = re.search(pattern, text, re.IGNORECASE) is not None
        if hit:
            found.append(form)
    return found


@pytest.mark.parametrize("token", ["Ab+/=cd" + "x7" * 8, "z+/=", "k9", "s p=ce&x"])
async def test_no_access_or_websocket_line_shows_the_token(tmp_path: Path, token: str) -> None:
    cfg = support.settings(tmp_path, api_token=token)
    service = quiet_service(cfg)
    with service_log(cfg) as log:
        async with support.live_server(service, access_log=True) as address:
            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                raw = f"/health?token={token}&limit=1"
                for path in (
                    f"/health?token={quote(token, safe='')}",
                    f"/health?token={quote_plus(token)}&x=1",
                    f"/health?token={quote(token, safe='').lower()}",
                    raw.replace(" ", "%20").replace("&x", "&x"),
                ):
                    assert (await http.get(path)).status_code == 200
                by_query = await http.post("/symbols/BTCUSDT", params={"token": token})
                assert by_query.status_code == 409  # let through: it was the token
                refused = await http.post(f"/symbols/BTCUSDT?token={quote(token)}x")
                assert refused.status_code == 401
            ws_url = f"ws://{address}/ws?token={quote(token, safe='')}"  # as the dashboard
            async with connect(ws_url) as ws:
                assert (await recv(ws))["type"] == "snapshot"
            with contextlib.suppress(ConnectionClosed):
                async with connect(f"ws://{address}/ws?token={quote_plus(token)}zz") as ws:
                    await recv(ws)
    text = log.getvalue()
    assert '"GET /health?token=***' in text  # the access lines were written, scrubbed
    assert "WebSocket /ws?token=***" in text
    assert '"POST /symbols/BTCUSDT?token=***' in text
    assert leaks(text, token) == [], text


def test_tracebacks_and_messages_are_scrubbed_too(tmp_path: Path) -> None:
    token = "tr4ce+/=" + "y8" * 8
    key, secret = "k3y-" + "q" * 20, "s3c-" + "w" * 20
    cfg = support.settings(
        tmp_path, api_token=token, binance_api_key=key, binance_api_secret=secret
    )
    log = logging.getLogger("tests.scrub")
    with service_log(cfg) as stream:
        try:
            raise ValueError(f"GET https://x.example/api?signature=abc&key={quote(key)}")
        except ValueError:
            log.exception("request failed with %s", quote_plus(token))
        log.warning("header was %r and %s", f"Bearer {token}", secret.upper())
        log.info("not a secret: /candles/BTCUSDT and is it reachable? yes")
    text = stream.getvalue()
    for value in (token, key, secret):
        assert leaks(text, value) == [], text
    assert "signature=***&key=***" in text and "Traceback" in text
    assert "not a secret: /candles/BTCUSDT and is it reachable? yes" in text
    assert text.count(MASK) >= 4


def _every_char_encoded(text: str, upper: bool = True) -> str:
    return "".join(f"%{ord(c):02X}" if upper else f"%{ord(c):02x}" for c in text)


async def test_a_token_after_a_quote_in_the_query_is_masked_in_every_encoding(
    tmp_path: Path,
) -> None:
    """The audit's case: `?x='&token=%54%30…` let uvicorn's line through unscrubbed. Every
    value of a query is masked to the next white space, whatever its characters."""
    token = "T0k3n-" + "m9" * 10
    cfg = support.settings(tmp_path, api_token=token)
    service = quiet_service(cfg)
    forms = [
        quote(token, safe=""), _every_char_encoded(token), _every_char_encoded(token, False),
        quote_plus(token),
    ]  # fmt: skip
    with service_log(cfg) as log:
        async with (
            support.live_server(service, access_log=True) as address,
            httpx.AsyncClient(base_url=f"http://{address}") as http,
        ):
            for form in forms:
                for lead in ("x='", 'x="', "x=<", "x=>", "x=#"):
                    r = await http.post(f"/variants/A/resume?{lead}&token={form}")
                    assert r.status_code in (200, 400, 401, 404, 409), r.text
    text = log.getvalue()
    assert '"POST /variants/A/resume?x=***&token=***' in text
    assert leaks(text, token) == [], text
    for form in forms:
        assert form.lower() not in text.lower()


async def test_a_clients_text_cannot_forge_a_log_line(tmp_path: Path) -> None:
    """A pause reason with a newline and an ESC: its line stays one line, the control
    characters escaped, its length bounded."""
    cfg = support.settings(tmp_path)
    service = quiet_service(cfg)
    forged = "lunch\n2026-12-07 00:00:00,000 ERROR   service: forged\x1b[31m red" + "z" * 9000
    with service_log(cfg) as log:
        async with (
            support.live_server(service) as address,
            httpx.AsyncClient(base_url=f"http://{address}") as http,
        ):
            r = await http.post("/variants/A/pause", json={"reason": forged[:150]})
        logging.getLogger("tests.inject").warning("client said %s", forged)
    lines = log.getvalue().splitlines()
    assert not any(line.startswith("2026-12-07 00:00:00,000 ERROR") for line in lines), lines
    assert "\x1b" not in log.getvalue()
    said = next(line for line in lines if "client said" in line)
    assert "lunch\\n2026-12-07" in said and "\\x1b[31m" in said
    assert len(said) < 4300 and said.endswith("characters)")
    assert r.status_code in (200, 409, 503), r.text


async def _raw_ws(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A /ws connection on a bare socket, past its handshake (frames are the test's own)."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    return reader, writer


def _masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    return (
        bytes([0x80 | opcode, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


async def test_a_ws_frame_that_is_not_utf8_is_one_warning_line(tmp_path: Path) -> None:
    """uvicorn answers an invalid text frame with 1007 and logged an ERROR with a traceback:
    a client's mistake is one WARNING line now."""
    cfg = support.settings(tmp_path)
    service = quiet_service(cfg)
    with service_log(cfg) as log:
        async with support.live_server(service) as address:
            reader, writer = await _raw_ws(address)
            writer.write(_masked_frame(0x1, b"\xff\xfe{bad"))
            await writer.drain()
            received = b""
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3):
                    while chunk := await reader.read(65536):
                        received += chunk
            writer.close()
    assert b"\x88\x02\x03\xef" in received  # closed with 1007
    text = log.getvalue()
    assert "Traceback" not in text and " ERROR " not in text, text
    assert "/ws client sent a text frame that is not UTF-8: closed with 1007" in text


@pytest.mark.e2e  # real waits for the keepalive
async def test_a_client_that_reads_nothing_is_closed_with_1011(
    tmp_path: Path,
) -> None:
    """It answers no ping: uvicorn's keepalive closes it with 1011, as docs/api.md says (the
    intervals shortened here; 20 s + 20 s in the service), and nothing is logged as an error."""
    cfg = support.settings(tmp_path)
    service = quiet_service(cfg)
    with service_log(cfg) as log:
        async with support.live_server(
            service, ws_ping_interval=0.2, ws_ping_timeout=0.2
        ) as address:
            reader, writer = await _raw_ws(address)
            await asyncio.sleep(1.5)  # reads nothing, answers no ping
            received = b""
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    while chunk := await reader.read(65536):
                        received += chunk
            writer.close()
    assert b"\x88\x02\x03\xf3" in received or b"\x03\xf3" in received  # close: 1011
    assert " ERROR " not in log.getvalue() and "Traceback" not in log.getvalue()
