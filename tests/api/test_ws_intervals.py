"""/ws subscriptions by candle interval, on a real uvicorn with `websockets` clients.

Fast lane: the real service with an unreachable exchange, its real pipeline fed trades (so only
those candles exist). e2e: the service against the simulator, a 5m candle from /ws compared
with the simulator's own 5m kline (an implementation that imports nothing of ours).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from binance import AsyncClient
from websockets.asyncio.client import ClientConnection, connect

from core.clock import MINUTE_MS
from data_ingestion.models import Tick
from service.container import Service
from simulator import Simulator
from tests.api import support
from tests.api.test_ws import calm, quiet_service, recv, recv_type

FIVE = 5 * MINUTE_MS
FIELDS = ("open", "high", "low", "close", "volume", "quote_volume", "trades", "taker_buy_base",
          "taker_buy_quote")  # fmt: skip


async def send(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(message))
    return await recv(ws)


async def candles_until(ws: ClientConnection, open_time: int) -> list[dict[str, Any]]:
    """The `candle` events up to the 1m candle opening at `open_time`."""
    out: list[dict[str, Any]] = []
    while True:
        data = (await recv_type(ws, "candle"))["data"]
        out.append(data)
        if data["interval"] == "1m" and data["open_time"] == open_time:
            return out


async def test_intervals_subscribed_a_bad_one_refused_and_default_1m(tmp_path: Path) -> None:
    service = quiet_service(support.settings(tmp_path, symbols="BTCUSDT"))
    async with (
        support.live_server(service) as address,
        connect(f"ws://{address}/ws") as fives,
        connect(f"ws://{address}/ws") as plain,
    ):
        first = await recv(fives)
        assert first["data"]["subscription"]["intervals"] == ["1m"]
        await send(fives, {"op": "unsubscribe", "channels": ["status", "candle_update"]})
        await calm(plain)

        bad = await send(
            fives, {"op": "subscribe", "intervals": ["5m", "2m"], "channels": ["tick"]}
        )
        assert bad["type"] == "error" and "2m" in bad["data"]["detail"]
        assert "1m, 3m, 5m" in bad["data"]["detail"]  # says which intervals there are
        unchanged = (await send(fives, {"op": "subscribe"}))["data"]["subscription"]
        assert unchanged["intervals"] == ["1m"] and "tick" not in unchanged["channels"]
        ack = await send(fives, {"op": "subscribe", "intervals": ["5m"]})
        assert ack["data"]["subscription"]["intervals"] == ["1m", "5m"]

        # Trades a day ahead of the clock (only the next trade closes a minute), from a 5m
        # boundary: minutes 0-4 make one 5m candle, the trade of minute 5 closes it, minute 6's
        # closes minute 5.
        t0 = service.clock.now_ms() + 1440 * MINUTE_MS
        t0 -= t0 % FIVE
        prices = ["100", "104", "98", "101", "97", "99", "105", "103", "102", "100", "101"]
        minute_of = [0, 0, 0, 1, 2, 2, 3, 3, 4, 5, 6]
        for n, (m, price) in enumerate(zip(minute_of, prices, strict=True)):
            t = t0 + m * MINUTE_MS + 1_000 + n
            service.pipeline.on_tick(
                Tick("BTCUSDT", n + 1, Decimal(price), Decimal("0.5"), t, False)
            )
        got = await candles_until(fives, t0 + 5 * MINUTE_MS)
        default = await candles_until(plain, t0 + 5 * MINUTE_MS)
        async with httpx.AsyncClient(base_url=f"http://{address}") as http:
            rest = (await http.get("/candles/BTCUSDT", params={"interval": "5m"})).json()

    assert [(c["interval"], c["open_time"]) for c in got] == [
        *(("1m", t0 + m * MINUTE_MS) for m in range(5)),
        ("5m", t0),
        ("1m", t0 + 5 * MINUTE_MS),
    ]
    five = got[5]
    assert (five["open"], five["high"], five["low"], five["close"], five["trades"]) == (
        "100.00000000", "105.00000000", "97.00000000", "102.00000000", 9
    )  # fmt: skip
    assert Decimal(five["volume"]) == sum(Decimal(c["volume"]) for c in got[:5])
    assert five["close_time"] == t0 + FIVE - 1 and five["complete"] and five["closed"]
    assert rest["candles"] == [five]  # REST reads the same candles
    # A client that never named an interval: the 1m candles only, as before intervals existed.
    assert [c["interval"] for c in default] == ["1m"] * 6
    assert [c["open_time"] for c in default] == [
        c["open_time"] for c in got if c["interval"] == "1m"
    ]


@pytest.mark.e2e  # the simulator and a real server, waiting for a 5m close (~5 s at speed 60)
async def test_a_5m_candle_on_ws_equals_the_simulators_5m_kline(
    sim: Simulator, tmp_path: Path
) -> None:
    service: Service = support.simulated_service(sim, support.settings(tmp_path))
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        async with connect(f"ws://{address}/ws") as ws:
            assert (await recv(ws))["type"] == "snapshot"
            ack = await send(ws, {"op": "subscribe", "intervals": ["5m"], "symbols": ["BTCUSDT"]})
            assert ack["data"]["subscription"]["intervals"] == ["1m", "5m"]
            update = None
            while True:
                msg = await recv_type(ws, "candle" if update else "candle_update", timeout=20)
                data = msg["data"]
                if data["interval"] != "5m":
                    continue
                if msg["type"] == "candle_update":
                    update = data
                    assert data["closed"] is False and data["open_time"] % FIVE == 0
                    continue
                if data["complete"]:
                    five = data
                    break
        exchange = AsyncClient(support.KEY, support.SECRET, testnet=True)
        exchange.API_TESTNET_URL = sim.rest_url
        try:
            (kline,) = await exchange.get_klines(
                symbol="BTCUSDT", interval="5m", startTime=five["open_time"], limit=1
            )
        finally:
            await exchange.close_connection()
    assert kline[0] == five["open_time"] and kline[6] == five["close_time"]
    theirs = [kline[1], kline[2], kline[3], kline[4], kline[5], kline[7], kline[8], kline[9],
              kline[10]]  # fmt: skip
    ours = [five[k] for k in FIELDS]
    assert [Decimal(x) if isinstance(x, str) else x for x in ours] == [
        Decimal(x) if isinstance(x, str) else x for x in theirs
    ]
    assert five["trades"] > 0 and five["source"] in ("stream", "backfill")  # not warm-up
