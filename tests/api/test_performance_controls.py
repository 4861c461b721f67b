"""Live performance and control of the variants at run time, through the real app against the
simulator: every figure recomputed here from the exchange's own orders and trades, controls
checked through REST and the journal, and a restart that keeps them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from api.app import create_app
from config import Settings
from service.container import Service
from simulator import Simulator
from tests.api import support
from tests.ledgers import service_lines

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

TOKEN = "c0ntrol-" + "e5" * 12
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# SMA periods no warm-up reaches: the strategy never trades, only the test's orders and stops.
QUIET_VARIANTS = "A:0.15:5:9000,B:0.10:5:9000"


def cfg(tmp_path: Path, **extra: Any) -> Settings:
    return support.settings(
        tmp_path, variants=QUIET_VARIANTS, api_token=TOKEN, variant_capital="1000", **extra
    )


@contextlib.asynccontextmanager
async def running(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="service live")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=AUTH
        ) as c:
            yield c


async def order(http: httpx.AsyncClient, variant: str, side: str, qty: str = "0.001") -> None:
    body = {"symbol": "BTCUSDT", "side": side, "quantity": qty, "variant": variant}
    r = await http.post("/orders", json=body)
    assert r.status_code == 200, r.text


async def exchange_orders(service: Service) -> list[dict[str, Any]]:
    """The account's filled BTCUSDT orders, oldest first, each with its trades' commissions."""
    orders = await service.client.get_all_orders(symbol="BTCUSDT")
    trades = await service.client.get_my_trades(symbol="BTCUSDT")
    fees: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in trades:
        fees[t["orderId"]].append(t)
    out = [o for o in orders if o["status"] == "FILLED"]
    for o in out:
        o["trades"] = fees[o["orderId"]]
    return sorted(out, key=lambda o: o["updateTime"])


def recompute(orders: list[dict[str, Any]], variant: str) -> dict[str, Any]:
    """Round trips, wins, stops, realized P&L, fees and hold time of `variant`, worked out from
    the exchange's orders alone (average cost; a BUY's BTC fee reduces what is held)."""
    held = cost = realized = fees = Decimal(0)
    trips: list[Decimal] = []
    holds: list[int] = []
    stops = 0
    entry_time: int | None = None
    trip_pnl = Decimal(0)
    for o in orders:
        if not o["clientOrderId"].startswith(f"{variant}-"):
            continue
        qty, quote = Decimal(o["executedQty"]), Decimal(o["cummulativeQuoteQty"])
        btc_fee = sum(
            (Decimal(t["commission"]) for t in o["trades"] if t["commissionAsset"] == "BTC"),
            Decimal(0),
        )
        usdt_fee = sum(
            (Decimal(t["commission"]) for t in o["trades"] if t["commissionAsset"] == "USDT"),
            Decimal(0),
        )
        fees += btc_fee * (quote / qty) + usdt_fee
        if o["side"] == "BUY":
            if held == 0 or entry_time is None:
                entry_time = o["updateTime"]
            held += qty - btc_fee
            cost += quote
            continue
        share = cost * qty / held
        pnl = quote - usdt_fee - share
        held -= qty
        cost -= share
        realized += pnl
        trip_pnl += pnl
        # Every SELL here sells all that is on the LOT_SIZE step: it ends a round trip.
        trips.append(trip_pnl)
        assert entry_time is not None
        holds.append(o["updateTime"] - entry_time)
        trip_pnl = Decimal(0)
        entry_time = None
        # A stop-loss exit: the STOP_LOSS order resting on the exchange (STOP_MODE=exchange),
        # or the service's own stop sold at market (client order ids A-BTCUSDT-xS-…).
        if o["type"] == "STOP_LOSS" or "-x" in o["clientOrderId"]:
            stops += 1
    return {
        "round_trips": len(trips),
        "wins": sum(1 for p in trips if p > 0),
        "stops_hit": stops,
        "realized": realized,
        "fees": fees,
        "avg_hold_s": sum(holds) // len(holds) / 1000 if holds else None,  # whole ms
        "held": held,
    }


def totals(perf: dict[str, Any], variant: str) -> dict[str, Any]:
    row: dict[str, Any] = next(v for v in perf["variants"] if v["variant"] == variant)
    out: dict[str, Any] = row["totals"] | {"equity": row["equity"], "symbols": row["symbols"]}
    return out


async def test_performance_is_the_exchanges_fills_and_a_shock_fires_only_bs_stop(
    sim: Simulator, tmp_path: Path
) -> None:
    service = support.simulated_service(sim, cfg(tmp_path))
    async with running(service) as http:
        for _ in range(2):  # two round trips of A
            await order(http, "A", "BUY")
            assert (await http.post("/positions/A/BTCUSDT/close")).status_code == 200
        await order(http, "A", "BUY")
        await order(http, "B", "BUY")
        sim.controls.shock("BTCUSDT", Decimal(-12))  # B's 10 % stop fires, A's 15 % does not
        await support.wait_for(
            lambda: not service.positions.get("B", "BTCUSDT").is_open, what="B's stop"
        )
        perf = (await http.get("/performance")).json()
        periods = {
            period: (await http.get("/performance/periods", params={"period": period})).json()
            for period in ("day", "week", "month")
        }
        bad_period = await http.get("/performance/periods", params={"period": "year"})
        curve_a = (await http.get("/performance/equity", params={"variant": "A"})).json()
        missing = await http.get("/performance/equity", params={"variant": "Z"})
        orders = await exchange_orders(service)
    a, b = totals(perf, "A"), totals(perf, "B")
    want_a, want_b = recompute(orders, "A"), recompute(orders, "B")
    for got, want in ((a, want_a), (b, want_b)):
        assert got["round_trips"] == want["round_trips"]
        assert got["wins"] == want["wins"]
        assert got["stops_hit"] == want["stops_hit"]
        assert abs(Decimal(got["realized_pnl"]) - want["realized"]) <= Decimal("1e-8")
        assert abs(Decimal(got["fees"]) - want["fees"]) <= Decimal("1e-8")
        assert got["avg_hold_s"] == want["avg_hold_s"]
        pnl = Decimal(got["realized_pnl"]) + Decimal(got["unrealized_pnl"])
        assert Decimal(got["pnl"]) == pnl
        assert Decimal(got["equity"]) == Decimal(1000) + pnl
        assert Decimal(got["return_pct"]) == (pnl / 10).quantize(Decimal("0.01"))
    assert (a["round_trips"], a["stops_hit"], a["open_positions"]) == (2, 0, 1)
    assert (b["round_trips"], b["stops_hit"], b["open_positions"]) == (1, 1, 0)
    assert b["wins"] == 0 and Decimal(b["realized_pnl"]) < -6  # over 10 % of ~64 USDT
    # A still holds through the shock: its drawdown includes the fall, its equity is down.
    assert Decimal(a["max_drawdown_pct"]) > 0 and Decimal(a["unrealized_pnl"]) < -5
    assert 0 < a["exposure"] <= 1 and a["win_rate"] == a["wins"] / 2
    assert set(a["symbols"]) == {"BTCUSDT"} and a["symbols"]["BTCUSDT"]["round_trips"] == 2
    points = curve_a["points"]
    assert curve_a["capital"] == "1000" and len(points) >= 5  # A's 5 fills, and candles
    assert [p["time_ms"] for p in points] == sorted(p["time_ms"] for p in points)
    assert missing.status_code == 404 and "not one of" in missing.json()["detail"]
    # P&L per period: each variant's periods add up to its realized P&L, and each day's is the
    # exchange's SELLs of that UTC day (recomputed from the exchange's orders alone).
    for period, doc in periods.items():
        assert doc["period"] == period and doc["start_ms"] == perf["start_ms"]
        for variant, want in (("A", want_a), ("B", want_b)):
            rows = [r for r in doc["periods"] if r["variant"] == variant]
            total = sum((Decimal(r["realized_pnl"]) for r in rows), Decimal(0))
            assert abs(total - want["realized"]) <= Decimal("1e-8") * max(1, len(rows))
            assert sum(r["fills"] for r in rows) == sum(
                o["clientOrderId"].startswith(f"{variant}-") for o in orders
            )
    days = {r["label"] for r in periods["day"]["periods"]}
    assert days == {
        datetime.fromtimestamp(o["updateTime"] / 1000, UTC).strftime("%Y-%m-%d") for o in orders
    }
    assert bad_period.status_code == 422


async def test_pause_resume_close_all_and_patch_through_rest_and_a_restart(
    sim: Simulator, tmp_path: Path
) -> None:
    settings = cfg(tmp_path)
    service = support.simulated_service(sim, settings)
    async with running(service) as http:
        await order(http, "A", "BUY")
        paused = await http.post("/variants/A/pause", json={"reason": "looking at it"})
        assert paused.status_code == 200, paused.text
        assert (
            paused.json()["state"] == "paused" and "looking at it" in paused.json()["state_reason"]
        )
        body = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        refused = await http.post("/orders", json=body)
        assert refused.status_code == 400 and "A is paused" in refused.json()["detail"]
        await order(http, "B", "BUY")  # B is not paused
        # A second position of A: resumed, bought, paused again.
        assert (await http.post("/variants/A/resume")).json()["state"] == "active"
        r = await http.post("/orders", json=body | {"symbol": "ETHUSDT", "quantity": "0.01"})
        assert r.status_code == 200, r.text
        await http.post("/variants/A/pause")
        # Paused: exits keep working. close-all sells both of A's positions, not B's.
        closed = await http.post("/variants/A/close-all")
        assert closed.status_code == 200, closed.text
        assert sorted(closed.json()["closed"]) == ["BTCUSDT", "ETHUSDT"]
        rows = {(p["variant"], p["symbol"]): p for p in (await http.get("/positions")).json()}
        assert not rows[("A", "BTCUSDT")]["is_open"] and not rows[("A", "ETHUSDT")]["is_open"]
        assert rows[("B", "BTCUSDT")]["is_open"]
        # PATCH: validated, nothing changes on a bad value.
        for bad, why in (
            ({"stop_loss": "1.5"}, "stop_loss"),
            ({"parameters": {"ema_period": 20000}}, "ema_period"),
            ({"parameters": {"period": 3}}, "no parameter 'period'"),
            ({"parameters": {"ema_period": 9000}}, "ema_period < sma_period"),
            ({}, "nothing to change"),
            ({"stop_loss": "0.1", "colour": "red"}, "colour"),
        ):
            r = await http.patch("/variants/B", json=bad)
            assert r.status_code == 422 and why in r.text, (bad, r.text)
        before = (await http.get("/variants")).json()
        assert [v["stop_loss"] for v in before] == ["0.15", "0.10"]
        ok = await http.patch(
            "/variants/B", json={"stop_loss": "0.05", "parameters": {"ema_period": 3}}
        )
        assert ok.status_code == 200, ok.text
        assert ok.json()["stop_loss"] == "0.05" and ok.json()["parameters"]["ema_period"] == 3
        stop_b = service.engine.snapshot()["symbols"]["BTCUSDT"]["B"]["stop_price"]
        entry_b = Decimal(rows[("B", "BTCUSDT")]["entry_price"])
        assert Decimal(stop_b) == entry_b * Decimal("0.95")  # the open position's stop moved
        unknown = await http.post("/variants/Z/pause")
        assert unknown.status_code == 404
        no_token = await http.post("/variants/B/pause", headers={"Authorization": "Bearer nope"})
        assert no_token.status_code == 401
        health = (await http.get("/health")).json()
        assert any(r.startswith("variant A paused: paused by a person") for r in health["reasons"])
    controls = [x for x in service_lines(settings) if x["type"] == "control"]
    assert [c["action"] for c in controls] == ["pause", "resume", "pause", "configure"]
    # A restart on the same journal: A still paused, B's stop and parameters kept.
    again = support.simulated_service(sim, settings)
    async with running(again) as http:
        strategy = (await http.get("/strategy")).json()
        refused = await http.post("/orders", json=body)
        resumed = await http.post("/variants/A/resume")
        after = await http.post("/orders", json=body)
    a, b = strategy["variants"]
    assert a["state"] == "paused" and a["paused"] and "paused by a person" in a["state_reason"]
    assert b["stop_loss"] == "0.05" and b["ema_period"] == 3 and not b["paused"]
    assert refused.status_code == 400 and "paused" in refused.json()["detail"]
    assert resumed.json()["state"] == "active" and after.status_code == 200


async def test_performance_on_ws_after_a_fill(sim: Simulator, tmp_path: Path) -> None:
    service = support.simulated_service(sim, cfg(tmp_path))
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        async with connect(f"ws://{address}/ws?token={TOKEN}") as ws:
            first = json.loads(await ws.recv())
            assert first["type"] == "snapshot"
            assert [v["variant"] for v in first["data"]["performance"]["variants"]] == ["A", "B"]
            async with httpx.AsyncClient(base_url=f"http://{address}", headers=AUTH) as http:
                await order(http, "B", "BUY")
            async with asyncio.timeout(20):
                while True:
                    msg = json.loads(await ws.recv())
                    if msg["type"] != "performance":
                        continue
                    b = next(v for v in msg["data"]["variants"] if v["variant"] == "B")
                    if b["totals"]["open_positions"] == 1:
                        break
    assert b["symbols"]["BTCUSDT"]["open_positions"] == 1 and b["totals"]["round_trips"] == 0
