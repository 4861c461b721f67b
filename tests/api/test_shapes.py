"""What the API's clients read: WebSocket order/trade/position events in the REST rows' shapes,
and decimals in plain notation (candles with Binance's 8 places), through the real app on a
real uvicorn against the simulator."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from aggregation.models import Candle, CandleSource
from api.schemas import PositionOut
from api.serialize import candle_data, plain, plain_text
from simulator import Simulator
from tests.api import support
from tests.api.test_ws import recv, recv_type

EIGHT_PLACES = re.compile(r"^\d+\.\d{8}$")
PLAIN = re.compile(r"^-?\d+(\.\d+)?$")
QUOTE = re.compile(r"-?\d+\.\d{8}")
# The strategy's SMA never fills in a test's seconds: no strategy orders, only the test's own.
NO_SIGNALS = {"sma_period": 5000}
CANDLE_DECIMALS = ("open", "high", "low", "close", "volume", "quote_volume",
                   "taker_buy_base", "taker_buy_quote")  # fmt: skip


async def order_status(ws: ClientConnection, status: str, cid: str | None = None) -> dict[str, Any]:
    """The next `order` event with that status (and client order id), skipping the rest."""
    while True:
        msg = await recv_type(ws, "order")
        data: dict[str, Any] = msg["data"]
        if data["status"] == status and cid in (None, data["client_order_id"]):
            return data


def assert_plain(row: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        value = row[name]
        if value is not None:
            assert PLAIN.match(value), (name, value)


@pytest.mark.e2e
async def test_order_trade_position_events_have_the_rest_shapes(
    sim: Simulator, tmp_path: Path
) -> None:
    service = support.simulated_service(sim, support.settings(tmp_path, **NO_SIGNALS))
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        async with (
            connect(f"ws://{address}/ws") as ws,
            httpx.AsyncClient(base_url=f"http://{address}") as http,
        ):
            assert (await recv(ws))["type"] == "snapshot"
            await ws.send(
                json.dumps({"op": "unsubscribe", "channels": ["candle_update", "signal"]})
            )
            order = {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.05", "variant": "A"}
            r = await http.post("/orders", json=order)
            assert r.status_code == 200, r.text
            cid = r.json()["client_order_id"]

            intent = await order_status(ws, "intent", cid)
            assert intent["price"] is None and intent["executed_qty"] == "0"
            filled = await order_status(ws, "filled", cid)
            trade = (await recv_type(ws, "trade"))["data"]
            assert trade["client_order_id"] == cid
            position = (await recv_type(ws, "position"))["data"]

            rows = (await http.get("/trades", params={"symbol": "ETHUSDT"})).json()
            row = next(t for t in rows if t["client_order_id"] == cid)
            for event in (filled, trade):
                assert {k: event[k] for k in row} == row  # the /trades row, field for field
                assert event["status"] == "filled" and event["error"] is None
                assert "avg_price" not in event and "type" not in event
                assert Decimal(event["price"]) > 0 and event["price"] == r.json()["avg_price"]

            assert set(position) == set(PositionOut.model_fields)
            rest = (await http.get("/positions/ETHUSDT")).json()
            held = next(p for p in rest if p["variant"] == "A")
            for name in ("variant", "symbol", "qty", "entry_price", "cost_quote", "trades"):
                assert position[name] == held[name], name
            assert position["is_open"] is True

            # Refused before sending (below LOT_SIZE): an order event says why.
            tiny = {**order, "quantity": "0.0000001"}
            assert (await http.post("/orders", json=tiny)).status_code == 400
            rejected = await order_status(ws, "rejected")
            assert rejected["error"] and rejected["price"] is None
            assert rejected["fill_time_ms"] is None and rejected["executed_qty"] == "0"
            assert_plain(rejected, ("quantity", "executed_qty", "quote_qty", "commission"))


@pytest.mark.e2e
async def test_decimals_are_plain_and_candles_have_eight_places(
    sim: Simulator, tmp_path: Path
) -> None:
    service = support.simulated_service(sim, support.settings(tmp_path, **NO_SIGNALS))
    async with support.live_server(service) as address:
        await support.wait_for(lambda: support.is_live(service), what="service live")
        async with (
            connect(f"ws://{address}/ws") as ws,
            httpx.AsyncClient(base_url=f"http://{address}") as http,
        ):
            assert (await recv(ws))["type"] == "snapshot"
            await ws.send(json.dumps({"op": "unsubscribe", "channels": ["candle_update"]}))
            live = (await recv_type(ws, "candle"))["data"]
            done = False
            body = (await http.get("/candles/BTCUSDT", params={"limit": 20})).json()
            candles = [*body["candles"], body["open_candle"], live]
            klines = {k[0]: k for k in sim.klines("BTCUSDT")}
            for c in candles:
                for name in CANDLE_DECIMALS:
                    assert EIGHT_PLACES.match(c[name]), (name, c[name])
            for c in body["candles"]:
                k = klines[c["open_time"]]
                assert Decimal(c["quote_volume"]) == Decimal(str(k[7]))
                assert Decimal(c["taker_buy_base"]) == Decimal(str(k[9]))

            # A round trip leaves a flat position: every amount plain, the cost zero.
            order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "B"}
            assert (await http.post("/orders", json=order)).status_code == 200
            closed = await http.post("/positions/B/BTCUSDT/close")
            assert closed.status_code == 200, closed.text
            assert_plain(closed.json(), ("quantity", "executed_qty", "avg_price", "quote_qty",
                                         "realized_pnl"))  # fmt: skip
            while True:  # the close's trade, then its position event (in order on the socket)
                msg = await recv(ws)
                if msg["type"] == "trade":
                    done = msg["data"]["client_order_id"] == closed.json()["client_order_id"]
                elif msg["type"] == "position" and done:
                    break
            flat = msg["data"]
            assert (flat["variant"], flat["symbol"], flat["is_open"]) == ("B", "BTCUSDT", False)
            assert Decimal(flat["qty"]) == 0  # nothing sellable left
            # What stays is dust, below one LOT_SIZE step: it keeps its share of the cost.
            assert Decimal(flat["held_qty"]) == Decimal(flat["dust"]) < Decimal("0.00001")
            assert (Decimal(flat["cost_quote"]) > 0) == (Decimal(flat["dust"]) > 0)
            assert_plain(flat, ("qty", "cost_quote", "realized_pnl", "dust"))
            for p in (await http.get("/positions")).json():
                assert_plain(p, ("qty", "entry_price", "cost_quote", "realized_pnl", "dust",
                                 "last_price", "unrealized_pnl"))  # fmt: skip
                # Quote amounts as every surface shows them: 8 places (execution.numbers).
                for name in ("cost_quote", "realized_pnl", "fees_quote", "spent_quote",
                             "received_quote", "unrealized_pnl"):  # fmt: skip
                    assert p[name] is None or QUOTE.fullmatch(p[name]), (name, p[name])
            for t in (await http.get("/trades")).json():
                assert_plain(t, ("quantity", "executed_qty", "price", "quote_qty", "commission",
                                 "realized_pnl"))  # fmt: skip


def test_candle_fields_as_binance_writes_them() -> None:
    """Unnormalised sums and zero volumes: 8 places, never an exponent."""
    candle = Candle(
        "BTCUSDT", 1_700_000_040_000, Decimal("65000.1"), Decimal("65000.10"),
        Decimal("65000.1"), Decimal("65000.10"), Decimal("0.00000010"),
        Decimal("0.00650001000000000000"), 1, Decimal("0E-8"), Decimal("0"),
        True, CandleSource.STREAM,
    )  # fmt: skip
    data = candle_data(candle)
    assert data["quote_volume"] == "0.00650001"
    assert data["volume"] == "0.00000010"
    assert data["taker_buy_base"] == "0.00000000" and data["taker_buy_quote"] == "0.00000000"
    assert data["open"] == "65000.10000000"
    assert plain(Decimal("0E-8")) == "0.00000000" and plain(Decimal("-0E-8")) == "0.00000000"
    assert plain(Decimal("1.0E-7")) == "0.00000010" and plain(Decimal("1E+2")) == "100"
    assert plain(Decimal("12.5")) == "12.5" and plain_text("0E-8") == "0.00000000"
    assert plain_text(None) is None
