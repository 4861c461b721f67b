"""History a page at a time from the ledger's indexes: GET /trades and GET /signals by cursor
and filters, and GET /trades/round-trips, on SQLite and PostgreSQL (the real service wiring
in paper mode: tests/service/paper_rig.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from core.clock import ManualClock
from tests.ledgers import ledger_lines
from tests.service.paper_rig import T0, Market, recorded_info, started

UP = (59_000, 58_800, 58_600, 58_400, 61_000)
DOWN = (61_500, 61_800, 62_000, 62_200, 60_000)


async def _pages(http: httpx.AsyncClient, path: str, **params: Any) -> list[list[Any]]:
    """Every page, newest first, following X-Next-Cursor."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await http.get(path, params=query)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.headers.get("X-Next-Cursor")
        if cursor is None:
            return pages


async def test_trades_signals_and_round_trips_page_through_the_ledger(
    tmp_path: Path, binance_data: Path, ledger_url: str
) -> None:
    clock = ManualClock(T0)
    service = await started(tmp_path, clock, recorded_info(binance_data), database_url=ledger_url)
    market = Market(service, clock)
    for _ in range(3):
        await market.closes(*UP)
        await market.closes(*DOWN)
    lines = ledger_lines(ledger_url)
    fills = [x for x in lines if x["type"] == "filled"]
    signals = [x for x in lines if x["type"] == "signal"]
    assert len(fills) == 12 and len(signals) >= 12

    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        pages = await _pages(http, "/trades", limit=5)
        assert [len(p) for p in pages] == [5, 5, 2]
        every = [row for page in reversed(pages) for row in page]  # oldest first
        assert [r["client_order_id"] for r in every] == [f["client_order_id"] for f in fills]
        only_b = await _pages(http, "/trades", variant="B", limit=100)
        assert [r["client_order_id"] for r in only_b[0]] == [
            f["client_order_id"] for f in fills if f["variant"] == "B"
        ]
        later = fills[6]["fill_time"]
        since = (await http.get("/trades", params={"since": later})).json()
        assert [r["client_order_id"] for r in since] == [
            f["client_order_id"] for f in fills if f["fill_time"] >= later
        ]
        until = (await http.get("/trades", params={"until": later})).json()
        assert len(until) + len(since) == len(fills)

        signal_pages = await _pages(http, "/signals", limit=4, variant="A")
        got = [s["time_ms"] for page in reversed(signal_pages) for s in page]
        assert got == [s["time"] for s in signals if s["variant"] == "A"]

        trips = (await http.get("/trades/round-trips", params={"variant": "A"})).json()
        first = await _pages(http, "/trades/round-trips", variant="A", limit=2)
        bad = await http.get("/trades", params={"cursor": "0"})
    await service.executor.stop(drain_timeout_s=1.0)

    assert bad.status_code == 422
    assert len(trips) == 3 and [len(p) for p in first] == [2, 1]
    a_fills = [f for f in fills if f["variant"] == "A"]
    for trip, (buy, sell) in zip(trips, zip(a_fills[::2], a_fills[1::2], strict=True), strict=True):
        assert (trip["entry_order_id"], trip["exit_order_id"]) == (
            buy["client_order_id"],
            sell["client_order_id"],
        )
        assert Decimal(trip["pnl"]) == Decimal(sell["realized_pnl"]).quantize(Decimal("1e-8"))
        cost = Decimal(trip["quantity"]) * Decimal(trip["entry_price"])
        pct = (Decimal(sell["realized_pnl"]) / cost * 100).quantize(Decimal("0.01"))
        assert Decimal(trip["pnl_pct"]) == pct
        assert trip["duration_s"] == (sell["fill_time"] - buy["fill_time"]) / 1000
        assert trip["exit_reason"] == "signal"
