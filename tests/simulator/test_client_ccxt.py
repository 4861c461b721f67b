"""ccxt and ccxt.pro against the simulator: every trading call, ccxt's exception per error,
watch_orders and watch_balance over the WebSocket API. Only the URLs are changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxtpro
import pytest
from ccxt.base import errors as ccxt_errors

from simulator import Simulator, SimulatorConfig
from tests.simulator.conftest import KEY, SECRET, make_config

pytestmark = pytest.mark.e2e  # real client libraries, several simulators: ~15 s
SYMBOL = "BTC/USDT"


def _point(exchange: Any, sim: Simulator) -> Any:
    exchange.set_sandbox_mode(True)
    base = f"http://127.0.0.1:{sim.port}"
    for name in ("public", "private"):
        exchange.urls["api"][name] = f"{base}/api/v3"
    exchange.urls["api"]["v1"] = f"{base}/api/v1"
    if "ws" in exchange.urls["api"]:
        exchange.urls["api"]["ws"]["spot"] = f"ws://127.0.0.1:{sim.port}/ws"
        exchange.urls["api"]["ws"]["ws-api"]["spot"] = sim.ws_api_url
    return exchange


def _real_time_config(**overrides: Any) -> SimulatorConfig:
    """A market clock at real speed, 2 s ahead while the market is built (that takes up to a
    second or two on a busy machine): ccxt stamps requests with its own clock, and
    adjustForTimeDifference takes the rest of the offset from GET /api/v3/time."""
    return make_config(speed=1.0, start_ms=time.time_ns() // 1_000_000 + 2000, **overrides)


def _options() -> dict[str, Any]:
    return {
        "apiKey": KEY,
        "secret": SECRET,
        "options": {
            "fetchCurrencies": False,
            "fetchMarkets": {"types": ["spot"]},
            "warnOnFetchOpenOrdersWithoutSymbol": False,
            "adjustForTimeDifference": True,
        },
    }


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(_real_time_config()) as running:
        yield running


@pytest.fixture
async def exchange(sim: Simulator) -> AsyncIterator[Any]:
    ex = _point(ccxt_async.binance(_options()), sim)
    await ex.load_markets()
    yield ex
    await ex.close()


async def test_trading_calls(exchange: Any, sim: Simulator) -> None:
    market = exchange.market(SYMBOL)
    assert (market["limits"]["cost"]["min"], market["precision"]["price"]) == (5.0, 0.01)
    balance = await exchange.fetch_balance()
    assert (balance["USDT"]["free"], balance["BTC"]["total"]) == (10000.0, 1.0)
    last = (await exchange.fetch_ticker(SYMBOL))["last"] if exchange.has["fetchTicker"] else None
    last = Decimal(str(last or sim.state.tape("BTCUSDT").last_price))
    bought = await exchange.create_order(SYMBOL, "market", "buy", 0.001)
    assert (bought["status"], bought["filled"], bought["fee"]["currency"]) == (
        "closed",
        0.001,
        "BTC",
    )
    price = float((last * Decimal("0.9")).quantize(Decimal("0.01")))
    resting = await exchange.create_order(SYMBOL, "limit", "buy", 0.001, price)
    assert resting["status"] == "open"
    maker = await exchange.create_order(
        SYMBOL, "limit", "sell", 0.001, float(last * Decimal("1.1")), {"postOnly": True}
    )
    assert maker["postOnly"] is True and maker["status"] == "open"
    ioc = await exchange.create_order(SYMBOL, "limit", "buy", 0.001, price, {"timeInForce": "IOC"})
    assert ioc["status"] in ("expired", "canceled")
    trigger = float((last * Decimal("0.9")).quantize(Decimal("0.01")))
    stop = await exchange.create_order(
        SYMBOL, "market", "sell", 0.001, None, {"stopLossPrice": trigger}
    )
    fetched = await exchange.fetch_order(stop["id"], SYMBOL)
    assert (fetched["info"]["type"], fetched["triggerPrice"]) == ("STOP_LOSS", trigger)
    assert fetched["status"] == "open"
    assert len(await exchange.fetch_open_orders(SYMBOL)) == 3
    assert len(await exchange.fetch_open_orders()) == 3
    edited = await exchange.edit_order(resting["id"], SYMBOL, "limit", "buy", 0.002, price)
    assert edited["amount"] == 0.002 and edited["id"] != resting["id"]
    canceled = await exchange.cancel_order(edited["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    assert (
        await exchange.create_order(SYMBOL, "market", "buy", 0.001, None, {"test": True})
        is not None
    )
    all_canceled = await exchange.cancel_all_orders(SYMBOL)
    assert len(all_canceled) == 2
    assert len(await exchange.fetch_orders(SYMBOL)) >= 5
    trades = await exchange.fetch_my_trades(SYMBOL)
    assert trades and trades[0]["order"] == bought["id"]
    # fetchTradingFee reads /sapi (no testnet); the implicit method reads account/commission.
    fees = await exchange.privateGetAccountCommission({"symbol": "BTCUSDT"})
    assert fees["standardCommission"]["taker"] == "0.00100000"
    limits = await exchange.privateGetRateLimitOrder()
    assert [c["interval"] for c in limits] == ["SECOND", "DAY"] and limits[0]["count"] >= 6
    assert await exchange.fetch_time() > 0


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda ex: ex.create_order(SYMBOL, "market", "sell", 5), ccxt_errors.InsufficientFunds),
        (lambda ex: ex.create_order(SYMBOL, "limit", "buy", 0.001, 1_000_000.5),
         ccxt_errors.InvalidOrder),
        (lambda ex: ex.create_order(SYMBOL, "limit", "buy", 0.001, 10.0),
         ccxt_errors.InvalidOrder),
        (lambda ex: ex.fetch_order("42", SYMBOL), ccxt_errors.OrderNotFound),
        (lambda ex: ex.cancel_order("42", SYMBOL), ccxt_errors.OrderNotFound),
        (lambda ex: ex.publicGetTickerPrice({"symbol": "NOPEUSDT"}), ccxt_errors.BadSymbol),
        (lambda ex: ex.request("nothing", "public", "GET"), ccxt_errors.NotSupported),
    ],
)  # fmt: skip
async def test_errors_map_to_ccxt_exceptions(exchange: Any, call: Any, error: type) -> None:
    with pytest.raises(error) as raised:
        await call(exchange)
    assert not isinstance(raised.value, ccxt_errors.NetworkError)  # never retried as one


async def test_auth_nonce_and_rate_limit_exceptions(sim: Simulator) -> None:
    wrong = _point(ccxt_async.binance({**_options(), "secret": "wrong"}), sim)
    stale = _point(ccxt_async.binance(_options()), sim)
    try:
        await wrong.load_markets()
        with pytest.raises(ccxt_errors.AuthenticationError):
            await wrong.fetch_balance()
        await stale.load_markets()
        stale.options["timeDifference"] = -20_000  # its clock 20 s ahead of the server's
        with pytest.raises(ccxt_errors.InvalidNonce):
            await stale.fetch_balance()
    finally:
        await wrong.close()
        await stale.close()
    async with Simulator(_real_time_config(weight_limit_1m=60)) as small:
        ex = _point(ccxt_async.binance({**_options(), "enableRateLimit": False}), small)
        try:
            with pytest.raises(ccxt_errors.DDoSProtection):
                for _ in range(10):
                    await ex.publicGetExchangeInfo()
        finally:
            await ex.close()


async def test_watch_orders_and_balance_over_the_websocket_api(sim: Simulator) -> None:
    pro = _point(ccxtpro.binance(_options()), sim)
    rest = _point(ccxt_async.binance(_options()), sim)
    try:
        await pro.load_markets()
        await rest.load_markets()
        orders = asyncio.ensure_future(pro.watch_orders(SYMBOL))
        balance = asyncio.ensure_future(pro.watch_balance())
        await asyncio.sleep(0.3)  # the subscription is made by the watch calls themselves
        last = sim.state.tape("BTCUSDT").last_price
        await rest.create_order(
            SYMBOL, "market", "sell", 0.01, None, {"stopLossPrice": float(last * Decimal("0.95"))}
        )
        seen = await asyncio.wait_for(orders, 5)
        assert seen[-1]["info"]["o"] == "STOP_LOSS" and seen[-1]["status"] == "open"
        assert (await asyncio.wait_for(balance, 5))["BTC"]["used"] == 0.01
        balance = asyncio.ensure_future(pro.watch_balance())
        sim.controls.shock("BTCUSDT", Decimal(-10))
        while True:
            seen = await asyncio.wait_for(pro.watch_orders(SYMBOL), 5)
            if seen[-1]["status"] == "closed":
                break
        assert seen[-1]["filled"] == 0.01 and seen[-1]["price"] is not None
        funds = await asyncio.wait_for(balance, 5)
        assert funds["BTC"]["used"] == 0 and funds["BTC"]["free"] == 0.99
    finally:
        await pro.close()
        await rest.close()
