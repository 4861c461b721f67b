"""Numbers are what they look like: decimals are ASCII digits with an optional dot (or JSON
numbers), booleans are not numbers, bodies are UTF-8 JSON. Anything else is a 422 naming the
field, and nothing reaches the exchange or the ledger (the audit's cases, through the app)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from service.container import Service
from tests.ledgers import service_lines

pytestmark = pytest.mark.e2e  # the real service against the simulator on loopback

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "variant": "A"}


@pytest.mark.parametrize("quantity", ["0_0_0_1", "１", "1_0", "０.001", " 0.001", "1e-3", "+1",
                                      "-1", "−1", "0x1", "", "NaN", True, None, [1]])  # fmt: skip
async def test_a_loose_quantity_is_a_422_naming_it(
    client: httpx.AsyncClient, service: Service, quantity: object
) -> None:
    before = len(service_lines(service.settings))
    r = await client.post("/orders", json={**ORDER, "quantity": quantity})
    assert r.status_code == 422, (quantity, r.text)
    assert any(e["loc"][-1] == "quantity" for e in r.json()["detail"]), r.text
    assert len(service_lines(service.settings)) == before  # nothing journaled


async def test_plain_decimals_and_json_numbers_still_order(client: httpx.AsyncClient) -> None:
    for quantity in ("0.001", 0.001, "1"):
        qty = quantity if quantity != "1" else "0.00100"
        r = await client.post("/orders", json={**ORDER, "quantity": qty})
        assert r.status_code == 200, r.text


async def test_a_boolean_parameter_is_not_a_number(client: httpx.AsyncClient) -> None:
    for bad in ({"ema_period": True}, {"ema_period": "4"}):
        r = await client.patch("/variants/A", json={"parameters": bad})
        assert r.status_code == 422, r.text
        assert "parameters" in json.dumps(r.json()["detail"])
    r = await client.patch("/variants/A", json={"stop_loss": "0_1"})
    assert r.status_code == 422 and "stop_loss" in json.dumps(r.json()["detail"])
    strategy = (await client.get("/strategy")).json()
    assert [v["stop_loss"] for v in strategy["variants"]] == ["0.15", "0.10"]


async def test_a_body_that_is_not_utf8_is_refused(
    client: httpx.AsyncClient, service: Service
) -> None:
    body = json.dumps({**ORDER, "quantity": "0.001"})
    for encoding in ("utf-16", "utf-32", "latin-1"):
        raw = (body + ("é" if encoding == "latin-1" else "")).encode(encoding)
        r = await client.post("/orders", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (encoding, r.text)
        assert "UTF-8" in r.text
    assert service.executor.positions.get("A", "BTCUSDT").held_qty == 0


async def test_the_losing_close_of_a_race_is_a_409_and_journals_nothing(
    client: httpx.AsyncClient, service: Service
) -> None:
    bought = await client.post("/orders", json={**ORDER, "quantity": "0.001"})
    assert bought.status_code == 200, bought.text
    before = len(service_lines(service.settings))
    first, second = await asyncio.gather(
        client.post("/positions/A/BTCUSDT/close"), client.post("/positions/A/BTCUSDT/close")
    )
    codes = sorted([first.status_code, second.status_code])
    assert codes == [200, 409], (first.text, second.text)
    lost = first if first.status_code == 409 else second
    assert lost.json()["detail"] == "A holds no BTCUSDT position to close"
    added = service_lines(service.settings)[before:]
    orders = [x for x in added if x["type"] in ("intent", "filled", "rejected")]
    assert [x["type"] for x in orders if x.get("order_type", "MARKET") == "MARKET"] == [
        "intent",
        "filled",
    ]


async def test_what_the_guard_answers_is_in_the_schema(client: httpx.AsyncClient) -> None:
    """The guard's and the ledger's answers (400 Host, 413, 415, 422, 503) are documented on
    every route they can come from, and the service gives them as documented."""
    schema = (await client.get("/openapi.json")).json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert "400" in codes, (method, path)
            if method in ("post", "patch", "delete"):
                assert {"413", "415", "422", "503"} <= codes, (method, path)
    refused = await client.post("/orders", content=b"x", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415 and "415" in schema["paths"]["/orders"]["post"]["responses"]
    assert "security" not in schema["paths"]["/orders"]["post"]  # no API_TOKEN: none needed
