"""A signal reads the same on GET /signals as in its /ws `signal` event, indicator values
included: the real service on a real uvicorn, its real pipeline and RSI strategy fed trades
(the exchange's side is unreachable, so nothing else publishes)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from core.clock import MINUTE_MS
from data_ingestion.models import Tick
from tests.api import support
from tests.api.test_ws import calm, quiet_service, recv_type


async def test_rest_and_ws_show_the_same_signal_with_its_indicators(tmp_path: Path) -> None:
    cfg = support.settings(tmp_path, symbols="BTCUSDT", variants="A:0.15:rsi(2,30,70)")
    service = quiet_service(cfg)
    async with support.live_server(service) as address, connect(f"ws://{address}/ws") as ws:
        await calm(ws)
        # Minutes a day ahead of the clock: only the next trade closes each (never the timer).
        t0 = service.clock.now_ms() + 1440 * MINUTE_MS
        t0 -= t0 % MINUTE_MS
        # Closes 100, 101, 102 (RSI(2) = 100), then 80: RSI falls below 30, a BUY.
        for n, price in enumerate(("100", "101", "102", "80", "81")):
            tick = Tick("BTCUSDT", n + 1, Decimal(price), Decimal("0.5"), t0 + n * MINUTE_MS, False)
            service.pipeline.on_tick(tick)
        pushed = (await recv_type(ws, "signal"))["data"]
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            (row,) = (await http.get("/signals", params={"variant": "A"})).json()
    assert row == pushed
    assert row["side"] == "BUY" and row["ref"] == t0 + 3 * MINUTE_MS
    # Wilder's RSI(2): gains 1, 1 then a loss of 22 -> avg gain 0.5, avg loss 11.
    assert row["indicators"] == {"rsi": pytest.approx(100 - 100 / (1 + 0.5 / 11))}
    assert json.dumps(row)  # plain JSON (no NaN)
