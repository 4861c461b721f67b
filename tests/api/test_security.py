"""API token on mutating routes, secrets in no log line and no response, degraded start."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from binance import AsyncClient

from api.app import create_app
from core.clock import SystemClock
from service.container import Service
from simulator import Simulator
from tests.api import support
from wiring.compose import build_service

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

TOKEN = "t0ken-" + "c3" * 16
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}


@pytest.fixture
async def guarded(
    sim: Simulator, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    cfg = support.settings(
        tmp_path, api_token=TOKEN, binance_api_key=support.KEY, binance_api_secret=support.SECRET
    )
    service = support.simulated_service(sim, cfg)
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="service live")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c, service


async def test_mutating_routes_need_the_token(guarded: tuple[httpx.AsyncClient, Service]) -> None:
    client, _ = guarded
    attempts = [
        ("POST", "/orders", ORDER),
        ("POST", "/symbols/BNBUSDT", None),
        ("DELETE", "/symbols/ETHUSDT", None),
        ("POST", "/positions/A/BTCUSDT/close", None),
    ]
    for method, path, body in attempts:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = await client.request(method, path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, headers)
            assert "token" in r.json()["detail"]
            assert r.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/health")).status_code == 200  # reads stay open
    ok = await client.post("/orders", json=ORDER, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200, ok.text
    by_query = await client.post("/positions/A/BTCUSDT/close", params={"token": TOKEN})
    assert by_query.status_code == 200, by_query.text


async def test_secrets_appear_in_no_log_line_and_no_response(
    guarded: tuple[httpx.AsyncClient, Service], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, service = guarded
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bodies: list[str] = []
    for path in ("/health", "/strategy", "/symbols", "/positions", "/trades", "/metrics",
                 "/openapi.json", "/signals", "/candles?limit=3"):  # fmt: skip
        bodies.append((await client.get(path)).text)
    bodies.append((await client.post("/orders", json=ORDER, headers=auth)).text)
    bodies.append((await client.post("/orders", json=ORDER)).text)  # 401
    bodies.append(
        (await client.post("/orders", json={**ORDER, "quantity": "1e-9"}, headers=auth)).text
    )
    bodies.append((await client.post("/positions/A/BTCUSDT/close", headers=auth)).text)
    bodies.append(repr(service.settings) + str(service.settings.model_dump()))
    logged = [r.getMessage() for r in caplog.records] + [caplog.text]
    assert len(caplog.records) > 0
    for secret in (TOKEN, support.KEY, support.SECRET):
        assert not any(secret in text for text in bodies), secret
        assert not any(secret in line for line in logged), secret


async def test_unreachable_exchange_degrades_but_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = support.free_port()  # nothing listens there
    cfg = support.settings(tmp_path, binance_rest_url=f"http://127.0.0.1:{port}/api")
    client = AsyncClient(None, None, testnet=True)
    client.API_TESTNET_URL = cfg.binance_rest_url
    service = build_service(
        cfg, mode="paper", clock=SystemClock(), client=client, stream_url=f"ws://127.0.0.1:{port}/"
    )
    app = create_app(service)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            await support.wait_for(lambda: "attempt 2" in caplog.text, what="two attempts")
            health = (await http.get("/health")).json()
            assert health["status"] == "degraded" and health["mode"] == "paper"
            assert "exchange unreachable" in health["reasons"][0]
            refused = await http.post("/orders", json=ORDER)
            assert refused.status_code == 409 and "not trading" in refused.json()["detail"]
            assert (await http.post("/symbols/BNBUSDT")).status_code == 409
            assert (await http.get("/candles/BTCUSDT")).json()["candles"] == []
    assert "PAPER MODE" in caplog.text
    failures = [r.getMessage() for r in caplog.records if "to reach the exchange" in r.message]
    assert len(failures) >= 2 and all("--simulate" in line for line in failures)


async def test_the_page_cannot_be_framed_and_runs_only_its_own_scripts(
    guarded: tuple[httpx.AsyncClient, Service],
) -> None:
    """Another site's page must not frame the dashboard (its buttons place orders): `/` and the
    page's files say so, allow only the page's own scripts, and are never type-sniffed."""
    client, _ = guarded
    for path in ("/", "/static/app.js", "/static/style.css"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        policy = dict(
            part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";")
        )
        assert policy["frame-ancestors"] == "'none'"
        assert policy["script-src"].split() == ["'self'", "https://unpkg.com"]
        assert "'unsafe-inline'" not in policy["script-src"]
