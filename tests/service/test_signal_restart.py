"""A signal's indicator values survive a restart: GET /signals shows the same `indicators`
before and after the service is brought up again on its journal (tests/service/paper_rig.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from core.clock import ManualClock
from service.container import Service
from tests.ledgers import write_as_crashed
from tests.service.paper_rig import T0, Market, journal, recorded_info, started

# MACD and Bollinger variants: their signals carry `indicators` (the crossover's carry ema/sma).
VARIANTS = "A:0.15:macd(fast=2,slow=3,signal=2),B:0.10:bollinger(period=3,k=1)"
UP = (59_000, 58_800, 58_600, 58_400, 61_000)
DOWN = (61_500, 61_800, 62_000, 62_200, 60_000)


async def signals_of(service: Service) -> list[dict[str, Any]]:
    """GET /signals through the app's routes (the service is already up: no lifespan)."""
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        r = await http.get("/signals", params={"limit": 1000})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_signal_indicators_are_restored_from_the_journal(
    tmp_path: Path, binance_data: Path
) -> None:
    info = recorded_info(binance_data)
    clock = ManualClock(T0)
    first = await started(tmp_path, clock, info, VARIANTS)
    market = Market(first, clock)
    for _ in range(3):
        await market.closes(*UP)
        await market.closes(*DOWN)
    before = await signals_of(first)
    await first.executor.stop(drain_timeout_s=1.0)
    strategy_rows = [r for r in before if r["reason"] == "signal"]
    assert {r["variant"] for r in strategy_rows} == {"A", "B"}
    assert all(set(r["indicators"]) == {"macd", "signal", "hist"} for r in strategy_rows
               if r["variant"] == "A")  # fmt: skip
    assert all(set(r["indicators"]) == {"lower", "middle", "upper"} for r in strategy_rows
               if r["variant"] == "B")  # fmt: skip
    # A signal line as an older service wrote it (no `indicators`) is still read.
    path = tmp_path / "journal.jsonl"
    last = [line for line in journal(path) if line["type"] == "signal"][-1]
    old = {k: v for k, v in last.items() if k != "indicators"}
    write_as_crashed(f"sqlite:///{tmp_path}/ledger.db", {**old, "ref": old["ref"] + 1})

    second = await started(tmp_path, clock, info, VARIANTS)  # the same journal
    try:
        after = await signals_of(second)
    finally:
        await second.executor.stop(drain_timeout_s=1.0)
    assert after[:-1] == before  # every field, indicators included
    assert after[-1]["ref"] == old["ref"] + 1 and after[-1]["indicators"] is None
