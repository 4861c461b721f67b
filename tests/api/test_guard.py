"""The request guard through the real app (its lifespan runs the service against the
simulator): Host (DNS rebinding), Origin (cross-site pages), JSON only (the no-preflight
`text/plain` POST), the body limit, the token before the body, bounded 422 bodies, NaN,
concurrent symbol changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from service.container import Service
from simulator import Simulator
from tests.api import support
from tests.ledgers import service_lines

TOKEN = "gu4rd-t0ken+/=" + "e5" * 8  # `+ / =` change under URL encoding
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
EVIL = "http://evil.example"


@contextlib.asynccontextmanager
async def serving(
    sim: Simulator, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    """The app with these settings, inside its lifespan, once trading; requests go to
    http://127.0.0.1 (a loopback Host) unless a test sets another."""
    service = support.simulated_service(sim, support.settings(tmp_path, **overrides))
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="service live")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c, service


@pytest.fixture
async def open_api(
    sim: Simulator, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    """No token (the default local set-up), CORS_ORIGINS naming one other page."""
    async with serving(sim, tmp_path, cors_origins="http://localhost:5173") as pair:
        yield pair


@pytest.fixture
async def guarded(
    sim: Simulator, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async with serving(sim, tmp_path, api_token=TOKEN, api_max_body_bytes=4096) as pair:
        yield pair


def journal_lines(service: Service) -> list[str]:
    return [json.dumps(x) for x in service_lines(service.settings)]


async def test_a_cross_site_page_cannot_close_a_position(
    open_api: tuple[httpx.AsyncClient, Service],
) -> None:
    client, service = open_api
    bought = await client.post("/orders", json=ORDER)
    assert bought.status_code == 200, bought.text
    before = journal_lines(service)
    # What a page on another site can send without a CORS preflight: a text/plain POST.
    attack = {"Origin": EVIL, "Content-Type": "text/plain;charset=UTF-8"}
    refused = await client.post("/positions/A/BTCUSDT/close", content="x", headers=attack)
    assert refused.status_code == 403 and "origin" in refused.json()["detail"]
    no_origin = await client.post(
        "/positions/A/BTCUSDT/close", content="x", headers={"Content-Type": "text/plain"}
    )
    assert no_origin.status_code == 415 and "JSON" in no_origin.json()["detail"]
    form = await client.post("/orders", data={"symbol": "BTCUSDT"})  # an HTML form's body
    assert form.status_code == 415
    untyped = await client.post("/orders", content=json.dumps(ORDER).encode())
    assert untyped.status_code == 415  # a body without a Content-Type is not read either
    for origin in ("null", "http://127.0.0.1.evil.example", "https://evil.example:443"):
        r = await client.post("/positions/A/BTCUSDT/close", headers={"Origin": origin})
        assert r.status_code == 403, origin
    assert journal_lines(service) == before  # nothing was journaled
    assert service.positions.get("A", "BTCUSDT").is_open

    # The dashboard's own requests (same origin) and the listed other page still work.
    own = await client.post("/orders", json=ORDER, headers={"Origin": "http://127.0.0.1"})
    assert own.status_code == 200, own.text
    listed = await client.post(
        "/positions/A/BTCUSDT/close", headers={"Origin": "http://localhost:5173"}
    )
    assert listed.status_code == 200, listed.text
    assert listed.headers["access-control-allow-origin"] == "http://localhost:5173"
    # Reads stay open to any origin (the browser keeps the answer from the other page).
    assert (await client.get("/health", headers={"Origin": EVIL})).status_code == 200


async def test_only_known_host_names_are_answered(
    sim: Simulator, tmp_path: Path, open_api: tuple[httpx.AsyncClient, Service]
) -> None:
    client, _ = open_api
    # A port part that is not digits hides another host (the audit's `…@evil.example`).
    bad = ("127.0.0.1:8000@evil.example", "localhost:80/evil", "127.0.0.1:8o00", "[::1]x")
    for host in ("evil.example", "127.0.0.1.nip.io", "localhost.evil.example", "", *bad):
        r = await client.get("/health", headers={"Host": host})
        assert r.status_code == 400 and "ALLOWED_HOSTS" in r.json()["detail"], host
        r = await client.post("/orders", json=ORDER, headers={"Host": host})
        assert r.status_code == 400, host
    for host in ("localhost", "LOCALHOST:8000", "127.0.0.1:8000", "[::1]:8000", "localhost."):
        assert (await client.get("/health", headers={"Host": host})).status_code == 200, host
    # A DNS-rebinding page: its Origin matches its Host, both the attacker's name.
    rebound = {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}
    assert (await client.post("/positions/A/BTCUSDT/close", headers=rebound)).status_code == 400

    async with serving(sim, tmp_path / "b", allowed_hosts="trader.example,[fd00::1]") as (c, _):
        assert (await c.get("/health", headers={"Host": "trader.example"})).status_code == 200
        assert (await c.get("/health", headers={"Host": "[fd00::1]:80"})).status_code == 200
        assert (await c.get("/health", headers={"Host": "other.example"})).status_code == 400
        own = {"Host": "trader.example", "Origin": "https://trader.example"}
        assert (await c.post("/symbols/BTCUSDT", headers=own)).status_code == 409  # let through


async def test_token_is_checked_before_the_body_is_read(
    guarded: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = guarded
    big = b'{"symbol": "' + b"A" * 10_000_000 + b'"}'
    headers = {"Content-Type": "application/json"}
    unauthenticated = await client.post("/orders", content=big, headers=headers)
    assert unauthenticated.status_code == 401
    assert len(unauthenticated.content) < 200  # a reason, never the input
    bad_json = await client.post("/orders", content=b"{not json", headers=headers)
    assert bad_json.status_code == 401  # 401 before 422
    wrong_fields = await client.post("/orders", json={"side": "HOLD"})
    assert wrong_fields.status_code == 401


async def test_the_body_limit_is_413_declared_or_streamed(
    guarded: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = guarded
    headers = {**AUTH, "Content-Type": "application/json"}
    declared = await client.post("/orders", content=b"{" + b" " * 5000 + b"}", headers=headers)
    assert declared.status_code == 413 and "API_MAX_BODY_BYTES" in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(100):
            yield b" " * 1000

    streamed = await client.post("/orders", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert (await client.get("/health", headers={"Content-Length": "99999999"})).status_code == 413
    just_under = json.dumps({**ORDER, "side": "HOLD" + " " * 3000}).encode()
    r = await client.post("/orders", content=just_under, headers=headers)
    assert r.status_code == 422  # read and validated


async def test_header_token_wins_over_the_query(
    guarded: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = guarded
    path = "/symbols/BTCUSDT"  # 409 once let through: the symbol is subscribed
    wrong_header = await client.post(
        path, params={"token": TOKEN}, headers={"Authorization": "Bearer wrong"}
    )
    assert wrong_header.status_code == 401
    right_header = await client.post(path, params={"token": "wrong"}, headers=AUTH)
    assert right_header.status_code == 409
    assert (await client.post(path, params={"token": TOKEN})).status_code == 409


async def test_422_bodies_never_echo_large_input(
    open_api: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = open_api
    huge = "B" * 60_000
    cases: list[Any] = [
        {**ORDER, "symbol": huge},
        {**ORDER, huge: 1},  # an unknown field named by the input
        {**ORDER, "quantity": [huge[:5000]] * 9},
        [huge],
    ]
    for body in cases:
        r = await client.post("/orders", json=body)
        assert r.status_code == 422, r.text[:200]
        assert len(r.content) < 2_000 and "characters)" in r.text
    long_path = await client.get(f"/candles/{'X' * 8000}")
    assert long_path.status_code == 422 and len(long_path.content) < 300
    assert (await client.post(f"/positions/{'V' * 8000}/BTCUSDT/close")).status_code == 422


async def test_nan_and_infinity_are_422(open_api: tuple[httpx.AsyncClient, Service]) -> None:
    client, service = open_api
    before = journal_lines(service)
    for quantity in ("NaN", "Infinity", "-Infinity", "nan", "inf", "sNaN", "1e400"):
        as_string = await client.post("/orders", json={**ORDER, "quantity": quantity})
        assert as_string.status_code == 422, as_string.text
        raw = json.dumps({**ORDER, "quantity": 0}).replace(": 0,", f": {quantity},")  # a number
        assert quantity in raw
        as_number = await client.post(
            "/orders", content=raw, headers={"Content-Type": "application/json"}
        )
        assert as_number.status_code == 422, (raw, as_number.text)
    assert journal_lines(service) == before


async def test_concurrent_deletes_remove_once(
    open_api: tuple[httpx.AsyncClient, Service],
) -> None:
    client, service = open_api
    bought = await client.post("/orders", json={**ORDER, "symbol": "ETHUSDT", "quantity": "0.01"})
    assert bought.status_code == 200, bought.text
    before = len(journal_lines(service))
    first, second = await asyncio.gather(
        client.delete("/symbols/ETHUSDT", params={"force": "true"}),
        client.delete("/symbols/ETHUSDT", params={"force": "true"}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 404], (first, second)
    done = first if first.status_code == 200 else second
    assert done.json()["closed_positions"] == ["A"]
    closing = [json.loads(line) for line in journal_lines(service)[before:]]
    sales = {r["client_order_id"] for r in closing if r.get("order_type", "MARKET") == "MARKET"}
    assert len(sales) == 1  # one order sold (its stop on the exchange was canceled first)
    stops = [r["type"] for r in closing if r.get("order_type") == "STOP_LOSS"]
    assert stops in ([], ["canceled"])
    added = await asyncio.gather(*(client.post("/symbols/ETHUSDT") for _ in range(3)))
    assert sorted(r.status_code for r in added) == [201, 409, 409]
    assert service.symbols().count("ETHUSDT") == 1


async def test_rejections_print_plain_numbers(
    open_api: tuple[httpx.AsyncClient, Service],
) -> None:
    client, service = open_api
    for quantity in (1e17, "100000000000000000", 1e-11):  # JSON numbers: the exponent is fine
        r = await client.post("/orders", json={**ORDER, "quantity": quantity})
        assert r.status_code == 400, r.text
        assert "E+" not in r.json()["detail"] and "E-" not in r.json()["detail"], r.text
    # A decimal in a string is ASCII digits with an optional dot: no exponent.
    r = await client.post("/orders", json={**ORDER, "quantity": "1E+17"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "quantity", r.text
    lines = journal_lines(service)
    assert lines and not any("E+" in line or "E-" in line for line in lines), lines
