"""Closed candles are stored in the ledger: after a restart the chart's history is what it was
(GET /candles), the strategy warms up on it without raising a signal, and no order follows
(tests/service/paper_rig.py: the exchange's REST klines are empty there, so every candle after
the restart comes from the ledger)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from aggregation.models import Candle
from api.app import create_app
from core.clock import MINUTE_MS, ManualClock
from service.container import Service, with_stored
from tests.ledgers import orders_in
from tests.service.paper_rig import SYMBOL, T0, Market, recorded_info, started

UP = (59_000, 58_800, 58_600, 58_400, 61_000)


async def _candles(service: Service) -> list[Any]:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        r = await http.get(f"/candles/{SYMBOL}", params={"limit": 1000})
    assert r.status_code == 200, r.text
    rows: list[Any] = r.json()["candles"]
    return rows


async def test_the_charts_history_survives_a_restart_and_trades_nothing(
    tmp_path: Path, binance_data: Path
) -> None:
    info = recorded_info(binance_data)
    clock = ManualClock(T0)
    first = await started(tmp_path, clock, info)
    market = Market(first, clock)
    await market.closes(*UP, *UP)
    before = await _candles(first)
    orders = len(orders_in(first.ledger))
    await first.executor.stop(drain_timeout_s=1.0)
    assert len(before) == 2 * len(UP)

    second = await started(tmp_path, clock, info)
    try:
        after = await _candles(second)
        assert [c["open_time"] for c in after] == [c["open_time"] for c in before]
        assert [c["close"] for c in after] == [c["close"] for c in before]
        assert len(orders_in(second.ledger)) == orders  # the warm-up raised no order
        assert second.signals.query(limit=1000) == first.signals.query(limit=1000)
    finally:
        await second.executor.stop(drain_timeout_s=1.0)


def _candle(minute: int) -> Candle:
    d = Decimal(minute + 1)
    return Candle(SYMBOL, T0 + minute * MINUTE_MS, d, d, d, d, d, d, 1, d, d)


def test_stored_candles_join_the_rest_window_only_without_a_gap() -> None:
    stored = [_candle(m) for m in range(0, 5)]
    joined, taken = with_stored(stored, [_candle(m) for m in range(3, 9)])
    assert [c.open_time for c in joined] == [_candle(m).open_time for m in range(9)]
    assert taken == 5 and {c.source.value for c in joined[:5]} == {"warmup"}
    gap, taken = with_stored(stored, [_candle(m) for m in range(7, 9)])
    assert [c.open_time for c in gap] == [_candle(7).open_time, _candle(8).open_time]
    assert taken == 0
    alone, taken = with_stored(stored, [])
    assert len(alone) == 5 and taken == 5
    assert with_stored([], stored) == (stored, 0)
