"""Money on capital from the exchange's fills, variant states that say why, and what a
restart finds: through the real app, with the real service against the simulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from api.app import create_app
from api.serialize import health_data
from core.hub import STATUS
from execution.codec import SignalNote, encode
from service.container import Service
from simulator import Simulator
from strategy.models import Side, SignalRaised, SignalReason
from tests.api import support
from tests.ledgers import insert_raw, service_lines

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)


@contextlib.asynccontextmanager
async def running(service: Service, live: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service)
    async with app.router.lifespan_context(app):
        if live:
            await support.wait_for(lambda: support.is_live(service), what="service live")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c


def by_asset(account: dict[str, Any]) -> dict[str, Decimal]:
    return {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"]) for b in account["balances"]}


async def test_money_follows_the_exchanges_fills_on_the_variants_capital(
    sim: Simulator, tmp_path: Path
) -> None:
    cfg = support.settings(tmp_path, variant_capital="500")
    service = support.simulated_service(sim, cfg)
    async with running(service) as http:
        before = by_asset(await service.client.get_account())
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        assert (await http.post("/orders", json=order)).status_code == 200
        assert (await http.post("/positions/A/BTCUSDT/close")).status_code == 200
        assert (await http.post("/orders", json=order)).status_code == 200
        after = by_asset(await service.client.get_account())
        rows = {(p["variant"], p["symbol"]): p for p in (await http.get("/positions")).json()}
        strategy = (await http.get("/strategy")).json()
    pos = rows[("A", "BTCUSDT")]
    mark = Decimal(pos["mark_price"])  # figures are marked at the newest fill or close
    # Independently, from the account: what A's three orders changed is all A's doing.
    held = after["BTC"] - before["BTC"]
    mtm = (after["USDT"] - before["USDT"]) + held * mark
    assert Decimal(pos["held_qty"]) == held
    total = Decimal(pos["realized_pnl"]) + Decimal(pos["unrealized_pnl"])
    assert abs(total - mtm) <= Decimal("1e-8"), (total, mtm)
    # The dust of the first round trip is in the position, not booked as a loss.
    assert Decimal(pos["dust"]) > 0 and Decimal(pos["qty"]) + Decimal(pos["dust"]) == held
    money = next(v for v in strategy["variants"] if v["name"] == "A")["money"]
    cash = Decimal("500") + (after["USDT"] - before["USDT"])
    assert Decimal(money["capital"]) == 500 and abs(Decimal(money["cash"]) - cash) < Decimal("1e-8")
    # Holdings at the mark price, the same one /positions used (unless a close came between).
    equity = Decimal(money["equity"])
    assert equity == Decimal(money["cash"]) + Decimal(money["holdings"])
    assert abs(Decimal(money["holdings"]) / held - mark) / mark < Decimal("0.05")
    want_return = ((equity - 500) / 500 * 100).quantize(Decimal("0.01"))
    assert Decimal(money["return_pct"]) == want_return
    assert Decimal(money["max_drawdown_pct"]) >= 0


async def test_a_variant_that_cannot_open_says_why_in_every_place(
    sim: Simulator, tmp_path: Path
) -> None:
    cfg = support.settings(tmp_path, risk_max_orders_per_day=1)
    service = support.simulated_service(sim, cfg)
    async with running(service) as http:
        sub = service.hub.subscribe()
        sub.kinds = {STATUS}
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        assert (await http.post("/orders", json=order)).status_code == 200
        refused = await http.post("/orders", json=order)
        assert refused.status_code == 400 and "max orders per day" in refused.text
        statuses: list[dict[str, Any]] = []

        def halted_status_seen() -> bool:
            while not sub.queue.empty():
                statuses.append(health_data(sub.queue.get_nowait().data))
            return any(s["variants"][0]["state"] == "halted" for s in statuses)

        await support.wait_for(halted_status_seen, what="a status event with A halted")
        health = (await http.get("/health")).json()
        strategy = (await http.get("/strategy")).json()
        metrics = (await http.get("/metrics")).text
    a, b = strategy["variants"]
    assert a["state"] == "halted" and "max orders per day" in a["state_reason"]
    assert b["state"] == "active" and b["state_reason"] is None
    assert health["status"] == "degraded"
    assert any(r.startswith("variant A halted: max orders per day") for r in health["reasons"])
    assert {"variant": "A", "state": "halted"}.items() <= health["variants"][0].items()
    assert 'variant_state{state="halted",variant="A"} 1.0' in metrics
    assert 'variant_state{state="active",variant="A"} 0.0' in metrics
    assert 'variant_state{state="active",variant="B"} 1.0' in metrics


async def test_a_wrong_shaped_ledger_entry_stops_trading_and_names_the_entry(
    sim: Simulator, tmp_path: Path
) -> None:
    cfg = support.settings(tmp_path)
    signal = SignalRaised("A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal(1), 1, 1)
    good = orjson.dumps(encode(SignalNote(signal)))
    url = f"sqlite:///{tmp_path}/ledger.db"
    insert_raw(url, good, b'{"type":"filled","variant":"A"}')
    service = support.simulated_service(sim, cfg)
    async with running(service, live=False) as http:
        await support.wait_for(lambda: "cannot start" in str(service.health().reasons))
        health = (await http.get("/health")).json()
        trades = await http.get("/trades")
        strategy = (await http.get("/strategy")).json()
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        refused = await http.post("/orders", json=order)
    (reason, *_) = health["reasons"]
    assert "JournalFormatError" in reason and "entry 2: filled without" in reason
    # The 409 says what /health says, not "the exchange is not reachable".
    assert refused.status_code == 409 and "entry 2: filled without" in refused.json()["detail"]
    assert "unreachable" not in reason
    assert trades.status_code == 200 and trades.json() == []
    assert {v["state"] for v in strategy["variants"]} == {"halted"}


async def test_refused_credentials_degrade_health_with_the_reason(
    sim: Simulator, tmp_path: Path
) -> None:
    service = support.simulated_service(sim, support.settings(tmp_path))
    service.client.API_SECRET = "not-the-secret"  # the signature will not match
    async with running(service, live=False) as http:
        await support.wait_for(lambda: "cannot start" in str(service.health().reasons))
        health = (await http.get("/health")).json()
        close = await http.post("/positions/A/BTCUSDT/close")
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        refused = await http.post("/orders", json=order)
    assert health["status"] == "degraded"
    assert "CredentialsError" in health["reasons"][0] and "-1022" in health["reasons"][0]
    assert refused.status_code == 409 and "CredentialsError" in refused.json()["detail"]
    assert close.status_code == 409  # nothing held: said before the exchange's state
    assert "not-the-secret" not in str(health)


async def test_a_testnet_reset_ends_the_journals_positions_and_signals_survive(
    sim: Simulator, tmp_path: Path
) -> None:
    cfg = support.settings(tmp_path)
    first = support.simulated_service(sim, cfg)
    async with running(first) as http:
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        assert (await http.post("/orders", json=order)).status_code == 200
        first.signals.add(
            SignalRaised("B", "ETHUSDT", Side.SELL, SignalReason.SIGNAL, Decimal(2), 5, 5)
        )
    sim.controls.reset()  # the testnet is wiped: balances back to defaults, orders gone
    second = support.simulated_service(sim, cfg)
    async with running(second) as http:
        health = (await http.get("/health")).json()
        rows = (await http.get("/positions")).json()
        signals = (await http.get("/signals")).json()
    assert any("exchange reset detected" in n for n in health["notices"])
    assert health["status"] == "ok"  # a reset is news, not a fault
    held = {(p["variant"], p["symbol"]): Decimal(p["held_qty"]) for p in rows}
    assert held[("A", "BTCUSDT")] == 0  # ended by the reset, not sold
    assert [(s["variant"], s["symbol"]) for s in signals] == [("B", "ETHUSDT")]
    kinds = [x["type"] for x in service_lines(cfg)]
    assert kinds[-1] == "reset" and kinds.count("filled") == 1


async def test_a_new_stop_loss_replaces_the_stop_resting_on_the_exchange(
    sim: Simulator, tmp_path: Path
) -> None:
    service = support.simulated_service(sim, support.settings(tmp_path))
    async with running(service) as http:
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
        bought = (await http.post("/orders", json=order)).json()
        before = await service.client.get_open_orders(symbol="BTCUSDT")
        changed = await http.patch("/variants/A", json={"stop_loss": "0.05"})
        assert changed.status_code == 200, changed.text
        await service.executor.wait_idle()
        after = await service.client.get_open_orders(symbol="BTCUSDT")
        row = next(p for p in (await http.get("/positions")).json() if p["variant"] == "A")
    entry = Decimal(bought["avg_price"])
    (old,), (new,) = before, after
    assert Decimal(old["stopPrice"]) == (entry * Decimal("0.85")).quantize(
        Decimal("0.01"), "ROUND_DOWN"
    )
    assert Decimal(new["stopPrice"]) == (entry * Decimal("0.95")).quantize(
        Decimal("0.01"), "ROUND_DOWN"
    )
    assert new["clientOrderId"] != old["clientOrderId"]  # a new order, never a reused id
    assert row["stop_order"]["client_order_id"] == new["clientOrderId"]
    assert Decimal(row["stop_order"]["stop_price"]) == Decimal(new["stopPrice"])
    # The price the page shows as the stop: the one resting on the exchange.
    assert Decimal(row["stop_price"]) == Decimal(new["stopPrice"])


async def test_the_stop_price_shown_is_the_level_the_service_checks(
    sim: Simulator, tmp_path: Path
) -> None:
    service = support.simulated_service(sim, support.settings(tmp_path, stop_mode="service"))
    async with running(service) as http:
        order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "B"}
        bought = (await http.post("/orders", json=order)).json()
        rows = {(p["variant"], p["symbol"]): p for p in (await http.get("/positions")).json()}
        assert (await http.patch("/variants/B", json={"stop_loss": "0.2"})).status_code == 200
        await service.executor.wait_idle()
        moved = next(p for p in (await http.get("/positions")).json()
                     if (p["variant"], p["symbol"]) == ("B", "BTCUSDT"))  # fmt: skip
    held = rows[("B", "BTCUSDT")]
    assert held["stop_order"] is None  # nothing rests on the exchange: the service checks it
    entry = Decimal(held["entry_price"])
    assert entry == Decimal(bought["avg_price"])
    assert Decimal(held["stop_price"]) == entry * Decimal("0.90")  # B's 10 %
    assert Decimal(moved["stop_price"]) == entry * Decimal("0.80")  # its new 20 %
    assert rows[("A", "BTCUSDT")]["stop_price"] is None  # A holds nothing
