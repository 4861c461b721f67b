"""Every REST endpoint through the app's lifespan, with the real service against the simulator."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import httpx
import pytest

from service.container import Service
from tests.api import support
from tests.ledgers import service_lines

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)


async def test_health_reports_ok_live_feeds_and_mode(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["reasons"] == []
    assert body["mode"] == "simulated"
    assert set(body["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    assert all(f["status"] == "live" for f in body["symbols"].values())
    assert body["uptime_s"] >= 0 and body["now_iso"].endswith("Z")


async def test_symbols_add_remove_and_their_errors(
    client: httpx.AsyncClient, service: Service
) -> None:
    listed = (await client.get("/symbols")).json()["symbols"]
    assert [s["symbol"] for s in listed] == ["BTCUSDT", "ETHUSDT"]

    unknown = await client.post("/symbols/NOPEUSDT")
    assert unknown.status_code == 404 and "exchangeInfo" in unknown.json()["detail"]
    present = await client.post("/symbols/btcusdt")
    assert present.status_code == 409 and "already" in present.json()["detail"]

    added = await client.post("/symbols/BNBUSDT")
    assert added.status_code == 201, added.text
    assert added.json()["symbol"] == "BNBUSDT" and added.json()["candles"] > 0  # warmed up
    assert "BNBUSDT" in service.feed.symbols()
    await support.wait_for(lambda: service.tick_store.last_tick("BNBUSDT") is not None)

    removed = await client.delete("/symbols/BNBUSDT")
    assert removed.status_code == 200 and removed.json()["removed"] is True
    assert "BNBUSDT" not in service.feed.symbols()
    assert (await client.delete("/symbols/BNBUSDT")).status_code == 404


async def test_removing_a_symbol_with_an_open_position_needs_force(
    client: httpx.AsyncClient,
) -> None:
    order = {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.01", "variant": "A"}
    bought = await client.post("/orders", json=order)
    assert bought.status_code == 200, bought.text

    refused = await client.delete("/symbols/ETHUSDT")
    assert refused.status_code == 409 and "open positions" in refused.json()["detail"]
    forced = await client.delete("/symbols/ETHUSDT", params={"force": "true"})
    assert forced.status_code == 200
    assert forced.json()["closed_positions"] == ["A"]
    trades = (await client.get("/trades", params={"symbol": "ETHUSDT"})).json()
    assert [t["side"] for t in trades] == ["BUY", "SELL"]


async def test_candles_of_all_and_one_symbol_with_bounds(client: httpx.AsyncClient) -> None:
    rows = (await client.get("/candles", params={"symbol": "BTCUSDT", "limit": 5})).json()
    assert len(rows) == 5 and all(r["symbol"] == "BTCUSDT" for r in rows)
    times = [r["open_time"] for r in rows]
    assert times == sorted(times) and all(b - a == 60_000 for a, b in pairwise(times))
    both = (await client.get("/candles", params={"limit": 2})).json()
    assert {r["symbol"] for r in both} == {"BTCUSDT", "ETHUSDT"} and len(both) == 4

    series = (await client.get("/candles/BTCUSDT", params={"limit": 3})).json()
    assert len(series["candles"]) == 3
    first = series["candles"][0]
    assert first["close_time"] == first["open_time"] + 59_999
    assert first["open_time_iso"].endswith(":00.000Z")
    assert Decimal(first["low"]) <= Decimal(first["close"]) <= Decimal(first["high"])

    start, end = times[1], times[3]
    bounded = (
        await client.get("/candles/BTCUSDT", params={"start": start, "end": end, "limit": 100})
    ).json()
    assert [c["open_time"] for c in bounded["candles"]] == times[1:4]


async def test_candle_parameters_are_checked(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"limit": "many"}, {"start": 5, "end": 1}, {"start": -1}):
        r = await client.get("/candles/BTCUSDT", params=params)
        assert r.status_code == 422, params
        assert r.json()["detail"]
    missing = await client.get("/candles/NOPEUSDT")
    assert missing.status_code == 404 and "not subscribed" in missing.json()["detail"]
    assert (await client.get("/candles", params={"symbol": "NOPEUSDT"})).status_code == 404


async def test_ticks_are_the_latest_trades(client: httpx.AsyncClient, service: Service) -> None:
    await support.wait_for(lambda: len(service.tick_store.latest("ETHUSDT")) >= 3)
    ticks = (await client.get("/ticks", params={"symbol": "ethusdt", "limit": 3})).json()
    assert len(ticks) == 3
    assert [t["trade_id"] for t in ticks] == sorted(t["trade_id"] for t in ticks)
    assert all(t["trade_time_iso"].endswith("Z") for t in ticks)
    assert (await client.get("/ticks", params={"symbol": "NOPEUSDT"})).status_code == 404
    assert (await client.get("/ticks", params={"limit": 0})).status_code == 422


async def test_signals_appear_and_filter_by_variant(
    client: httpx.AsyncClient, service: Service
) -> None:
    # At speed 60 a market minute is a real second: crossovers come within seconds.
    await support.wait_for(lambda: len(service.signals) >= 2, timeout=30, what="signals")
    all_signals = (await client.get("/signals", params={"limit": 500})).json()
    assert all_signals and {s["variant"] for s in all_signals} == {"A", "B"}
    only_b = (await client.get("/signals", params={"variant": "B"})).json()
    assert only_b and all(s["variant"] == "B" for s in only_b)
    assert all(s["side"] in ("BUY", "SELL") and s["time_iso"].endswith("Z") for s in only_b)
    assert (await client.get("/signals", params={"limit": -1})).status_code == 422


async def test_manual_order_close_and_trades_from_the_journal(
    client: httpx.AsyncClient, service: Service
) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.002", "variant": "B"}
    filled = await client.post("/orders", json=order)
    assert filled.status_code == 200, filled.text
    outcome = filled.json()
    assert outcome["status"] == "filled" and outcome["executed_qty"] == "0.00200000"

    mine = (await client.get("/positions/BTCUSDT")).json()
    held = {p["variant"]: p for p in mine}
    assert held["B"]["is_open"] and Decimal(held["B"]["qty"]) > 0
    assert held["B"]["unrealized_pnl"] is not None
    assert len((await client.get("/positions")).json()) == 4  # 2 variants x 2 symbols

    closed = await client.post("/positions/B/BTCUSDT/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["side"] == "SELL" and closed.json()["realized_pnl"] is not None
    again = await client.post("/positions/B/BTCUSDT/close")
    assert again.status_code == 409

    trades = (await client.get("/trades", params={"variant": "B", "symbol": "BTCUSDT"})).json()
    ids = [t["client_order_id"] for t in trades]
    assert outcome["client_order_id"] in ids and closed.json()["client_order_id"] in ids
    later = (await client.get("/trades", params={"since": trades[-1]["fill_time_ms"] + 1})).json()
    assert closed.json()["client_order_id"] not in [t["client_order_id"] for t in later]
    journal = service_lines(service.settings)
    assert any(line.get("client_order_id") == outcome["client_order_id"] for line in journal)


async def test_bad_orders_get_a_reason(client: httpx.AsyncClient) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
    cases = [
        ({**base, "side": "HOLD"}, 422),
        ({**base, "quantity": "-1"}, 422),
        ({**base, "quantity": "lots"}, 422),
        ({**base, "extra": 1}, 422),
        ({**base, "variant": "Z"}, 404),
        ({**base, "symbol": "NOPEUSDT"}, 404),
        ({**base, "quantity": "0.0000001"}, 400),  # below LOT_SIZE after rounding
    ]
    for body, status in cases:
        r = await client.post("/orders", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"]
    assert (await client.post("/positions/Z/BTCUSDT/close")).status_code == 404
    assert (await client.get("/positions/NOPEUSDT")).status_code == 404


async def test_strategy_shows_parameters_and_indicators(client: httpx.AsyncClient) -> None:
    body = (await client.get("/strategy")).json()
    assert (body["ema_period"], body["sma_period"]) == (5, 10)
    assert [v["name"] for v in body["variants"]] == ["A", "B"]
    assert set(body["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    assert set(body["symbols"]["BTCUSDT"]) == {"A", "B"}


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient, service: Service) -> None:
    await support.wait_for(lambda: service.tick_store.last_tick("BTCUSDT") is not None)
    await client.post(
        "/orders", json={"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
    )
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in (
        'ticks_total{symbol="BTCUSDT"}',
        "candles_total",
        "late_trades_total",
        "gaps_backfilled_total",
        "reconnects_total",
        'orders_total{outcome="filled"}',
        "order_latency_seconds_bucket",
        "ws_clients",
        "event_loop_lag_seconds",
    ):
        assert name in text, name


async def test_docs_and_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    for path in (
        "/health", "/symbols", "/symbols/{symbol}", "/candles", "/candles/{symbol}", "/ticks",
        "/signals", "/positions", "/positions/{symbol}", "/positions/{variant}/{symbol}/close",
        "/orders", "/trades", "/strategy", "/metrics",
    ):  # fmt: skip
        assert path in paths, path
        for operation in spec["paths"][path].values():
            assert operation["tags"], path
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert (await client.get("/nowhere")).status_code == 404
