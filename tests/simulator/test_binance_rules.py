"""Where the simulator used to forgive what Binance refuses (the audit's list), through
python-binance and raw HTTP over loopback, against the behaviour Binance documents."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import Simulator, SimulatorConfig
from simulator.errors import too_much_weight
from tests.simulator.conftest import KEY, SECRET, make_client, make_config, sync

MARKET = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}


async def _refused(client: AsyncClient, **order: Any) -> tuple[int, str]:
    with pytest.raises(BinanceAPIException) as err:
        await client.create_order(**order)
    return err.value.code, err.value.message


@pytest.mark.parametrize("quantity", ["1e-3", ".001", "9e-05", "+0.001", "0.001 ", "0,001"])
async def test_a_decimal_binance_refuses_is_minus_1100(
    client: AsyncClient, sim: Simulator, quantity: str
) -> None:
    code, message = await _refused(client, **MARKET, quantity=quantity)
    assert code == -1100
    assert message == (
        "Illegal characters found in parameter 'quantity'; legal range is"
        " '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."
    )
    assert sim.stats().get("orders_executed", 0) == 0


async def test_more_decimals_than_the_asset_has_is_minus_1111(client: AsyncClient) -> None:
    code, message = await _refused(client, **MARKET, quantity="0.000100001")
    assert (code, message) == (-1111, "Precision is over the maximum defined for this asset.")
    done = await client.create_order(**MARKET, quantity="0.00100000000")  # trailing zeros
    assert done["status"] == "FILLED"


async def test_the_order_rate_limit_says_when_to_come_back() -> None:
    async with Simulator(SimulatorConfig(**{**_base(), "orders_per_10s": 2})) as sim:
        query = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        client = make_client(sim)
        try:
            for _ in range(2):
                await client.create_order(**query)
            with pytest.raises(BinanceAPIException) as err:
                await client.create_order(**query)
        finally:
            await client.close_connection()
    assert err.value.status_code == 429 and err.value.code == -1015
    assert err.value.response.headers["Retry-After"] == "10"


def test_the_weight_limit_text_is_binances() -> None:
    error = too_much_weight(6000, 1)
    assert error.msg == (
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."
        " Please use WebSocket Streams for live updates to avoid polling the API."
    )
    assert error.headers == {"Retry-After": "1"}


async def test_microsecond_kline_close_times_end_in_the_last_microsecond(
    sim: Simulator,
) -> None:
    base = sim.rest_url.removesuffix("/api")
    params = {"symbol": "BTCUSDT", "interval": "1m", "limit": "3"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base}/api/v3/klines", params=params,
                 headers={"X-MBX-TIME-UNIT": "MICROSECOND"}) as resp,
    ):  # fmt: skip
        rows = await resp.json()
    assert resp.status == 200, rows
    for row in rows:
        assert row[0] % 60_000_000 == 0
        assert row[6] == row[0] + 59_999_999


async def test_python_binances_miniticker_socket_name_is_accepted(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{sim.stream_url}ws/!miniTicker@arr@1000ms"
        async with http.ws_connect(url) as ws:
            message = await ws.receive_json(timeout=10)
    assert isinstance(message, list) and message[0]["e"] == "24hrMiniTicker"


async def test_at_speed_1_the_market_starts_at_now_not_at_the_minute() -> None:
    before = time.time_ns() // 1_000_000
    config = SimulatorConfig(**{**_base(), "speed": 1.0, "start_ms": None})
    async with Simulator(config) as sim:
        started = sim.clock.now_ms()
        client = AsyncClient(KEY, SECRET, testnet=True)  # stamps its own (wall clock) time
        client.API_TESTNET_URL = sim.rest_url
        try:
            account = await client.get_account()
        finally:
            await client.close_connection()
    assert started >= before  # not floored back to the minute (up to 59 s behind)
    assert "balances" in account  # no -1021: the market's clock is the wall clock


def _base() -> dict[str, Any]:
    config = make_config()
    return {
        name: getattr(config, name)
        for name in ("seed", "speed", "history_minutes", "api_key", "api_secret", "start_ms")
    }


async def _book(client: AsyncClient, depth: int = 100) -> dict[str, list[list[Decimal]]]:
    book = await client.get_order_book(symbol="BTCUSDT", limit=depth)
    return {side: [[Decimal(p), Decimal(q)] for p, q in book[side]] for side in ("bids", "asks")}


class StillClient(AsyncClient):  # type: ignore[misc]
    """python-binance, its timestamp offset taken again before each request: the market clock
    of a simulator at speed 0.001 barely moves, so the book stays as read between calls."""

    sim: Simulator

    async def _request(self, *args: Any, **kwargs: Any) -> Any:
        sync(self, self.sim)
        return await super()._request(*args, **kwargs)


@pytest.fixture
async def still() -> Any:
    async with Simulator(SimulatorConfig(**{**_base(), "speed": 0.001})) as sim:
        client = StillClient(KEY, SECRET, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        client.sim = sim
        try:
            yield client
        finally:
            await client.close_connection()


async def test_a_market_order_takes_the_book_level_by_level(still: AsyncClient) -> None:
    """A BUY lifts the asks from the best one up, a SELL hits the bids from the best one down:
    spread and slippage as live, one fill per level."""
    client = still
    book = await _book(client)
    size = book["asks"][0][1] + book["asks"][1][1] / 2  # the best level and half the next
    bought = await client.create_order(**MARKET, quantity=str(size))
    fills = [(Decimal(f["price"]), Decimal(f["qty"])) for f in bought["fills"]]
    assert fills == [(book["asks"][0][0], book["asks"][0][1]),
                     (book["asks"][1][0], book["asks"][1][1] / 2)]  # fmt: skip
    book = await _book(client)
    sold = await client.create_order(**{**MARKET, "side": "SELL"}, quantity="0.001")
    assert Decimal(sold["fills"][0]["price"]) == book["bids"][0][0] < book["asks"][0][0]


async def test_orders_at_the_touch_rest_and_cross_only_through_the_book(
    still: AsyncClient,
) -> None:
    """A LIMIT_MAKER BUY at the best bid rests (it does not cross the ask, whatever the last
    trade was); a LIMIT GTC at the best bid rests as maker; a LIMIT_MAKER at the ask is -2010."""
    client = still
    book = await _book(client, 5)
    bid, ask = str(book["bids"][0][0]), str(book["asks"][0][0])
    limit = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}
    maker = await client.create_order(
        **limit, type="LIMIT_MAKER", price=bid, newOrderRespType="RESULT"
    )
    assert maker["status"] == "NEW"
    gtc = await client.create_order(**limit, type="LIMIT", timeInForce="GTC", price=bid)
    assert gtc["status"] == "NEW" and gtc["fills"] == []
    code, _ = await _refused(client, **limit, type="LIMIT_MAKER", price=ask)
    assert code == -2010
    taker = await client.create_order(**limit, type="LIMIT", timeInForce="GTC", price=ask)
    assert taker["status"] == "FILLED" and Decimal(taker["fills"][0]["price"]) == Decimal(ask)
