"""Signed REST endpoints: orders, account, errors, through python-binance unchanged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import Simulator
from tests.simulator.conftest import KEY, assert_shape, make_client, sync

# Keys current Binance adds to the (2021/2022) recorded payloads.
NEWER = frozenset(
    {
        "workingTime",
        "selfTradePreventionMode",
        "origQuoteOrderQty",
        "orderListId",
        "commissionRates",
        "requireSelfTradePrevention",
        "preventSor",
        "uid",
    }
)


def _recorded(load, label_start: str):
    items = load("rest/orders_account_btcusdt_2022.json")["items"]
    return next(i["payload"] for i in items if i["label"].startswith(label_start))


async def _code(coro) -> tuple[int, int]:
    with pytest.raises(BinanceAPIException) as err:
        await coro
    return err.value.code, err.value.status_code


async def test_market_buy_and_sell_full(client: AsyncClient, sim: Simulator, load) -> None:
    recorded = load("rest/orders_market_full_btcbusd_2021.json")
    last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
    buy = await client.create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.00200", newClientOrderId="buy-1"
    )
    assert_shape(buy, recorded["buy"], NEWER)
    assert (buy["status"], buy["clientOrderId"], buy["executedQty"]) == (
        "FILLED",
        "buy-1",
        "0.00200000",
    )
    # The order may take more than one level of the book (the market moves meanwhile): each
    # fill pays 0.1 % of its own quantity in BTC, and the fills add up to the order.
    fills = buy["fills"]
    for fill in fills:
        price = Decimal(fill["price"])
        assert abs(price - last) / last < Decimal("0.01")
        assert fill["commissionAsset"] == "BTC"
        assert Decimal(fill["commission"]) == Decimal(fill["qty"]) * Decimal("0.001")
    assert sum(Decimal(f["qty"]) for f in fills) == Decimal("0.002")
    bought = sum(Decimal(f["price"]) * Decimal(f["qty"]) for f in fills)
    assert Decimal(buy["cummulativeQuoteQty"]) == bought
    assert buy["transactTime"] <= sim.clock.now_ms()

    sync(client, sim)
    sell = await client.create_order(
        symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.00100"
    )
    assert_shape(sell, recorded["sell"], NEWER)
    sold = Decimal(sell["cummulativeQuoteQty"])
    assert sold == sum(Decimal(f["price"]) * Decimal(f["qty"]) for f in sell["fills"])
    for fill in sell["fills"]:  # 0.1 % of each fill's quote, in USDT, cut to 8 places
        assert fill["commissionAsset"] == "USDT"
        assert Decimal(fill["commission"]) == (
            Decimal(fill["price"]) * Decimal(fill["qty"]) * Decimal("0.001")
        ).quantize(Decimal("0.00000001"), rounding="ROUND_DOWN")
    assert sell["clientOrderId"].startswith("x-")  # python-binance names its orders

    balances = sim.accounts.account(KEY).free
    assert balances["BTC"] == Decimal(1) + Decimal("0.002") - Decimal("0.000002") - Decimal("0.001")
    fees = sum(Decimal(f["commission"]) for f in sell["fills"])
    assert balances["USDT"] == Decimal(10000) - bought + sold - fees


async def test_quote_order_qty_and_response_types(client: AsyncClient, load) -> None:
    order = await client.create_order(
        symbol="ETHUSDT", side="BUY", type="MARKET", quoteOrderQty="50"
    )
    assert_shape(order, _recorded(load, "POST /api/v3/order MARKET BUY quoteOrderQty"), NEWER)
    assert order["origQuoteOrderQty"] == "50.00000000"
    assert Decimal(order["cummulativeQuoteQty"]) <= 50
    assert Decimal(order["executedQty"]) % Decimal("0.0001") == 0
    ack = await client.create_order(
        symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.01", newOrderRespType="ACK"
    )
    assert_shape(ack, _recorded(load, "POST /api/v3/order STOP_LOSS -> ACK"))
    result = await client.create_order(
        symbol="ETHUSDT", side="SELL", type="MARKET", quantity="0.01", newOrderRespType="RESULT"
    )
    assert "fills" not in result and result["status"] == "FILLED"


async def test_get_order_all_orders_my_trades_and_account(
    client: AsyncClient, sim: Simulator, load
) -> None:
    placed = await client.create_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001", newClientOrderId="q-1"
    )
    got = await client.get_order(symbol="BTCUSDT", origClientOrderId="q-1")
    assert_shape(got, _recorded(load, "GET /api/v3/order (query) MARKET FILLED"), NEWER)
    assert_shape(got, _recorded(load, "GET /api/v3/openOrders entry"))
    assert got["orderId"] == placed["orderId"] and got["status"] == "FILLED"
    assert (await client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])) == got
    assert await client.get_all_orders(symbol="BTCUSDT") == [got]
    trades = await client.get_my_trades(symbol="BTCUSDT")
    assert_shape(trades[0], _recorded(load, "GET /api/v3/myTrades entry"))
    assert trades[0]["orderId"] == placed["orderId"] and trades[0]["isBuyer"] is True
    account = await client.get_account()
    assert_shape(account, _recorded(load, "GET /api/v3/account"), NEWER)
    free = {b["asset"]: Decimal(b["free"]) for b in account["balances"]}
    assert free["BTC"] == Decimal("1.000999")
    assert free["ETH"] == Decimal(10)


async def test_limit_order_rests_and_cancels(client: AsyncClient, sim: Simulator, load) -> None:
    last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
    far = (last * Decimal("0.6")).quantize(Decimal("0.01"))
    order = await client.create_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="0.001",
        price=str(far),
    )
    assert order["status"] == "NEW" and order["fills"] == []
    assert sim.accounts.account(KEY).locked["USDT"] == far * Decimal("0.001")
    assert [o["orderId"] for o in await client.get_open_orders(symbol="BTCUSDT")] == [
        order["orderId"]
    ]
    canceled = await client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
    assert_shape(
        canceled, _recorded(load, "DELETE /api/v3/order (cancel)"), NEWER | {"transactTime"}
    )
    assert canceled["status"] == "CANCELED"
    assert canceled["origClientOrderId"] == order["clientOrderId"]
    assert sim.accounts.account(KEY).locked["USDT"] == 0
    assert sim.accounts.account(KEY).free["USDT"] == Decimal(10000)
    assert await _code(client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])) == (
        -2011,
        400,
    )


async def test_binance_error_codes(client: AsyncClient, sim: Simulator) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}
    assert await _code(client.create_order(**order, quantity="0.00001")) == (-1013, 400)
    assert await _code(client.create_order(**order, quantity="0.000015")) == (-1013, 400)
    assert await _code(client.create_order(**order, quantity="1")) == (-2010, 400)
    assert await _code(client.create_order(**{**order, "symbol": "NOPEUSDT"}, quantity="1")) == (
        -1121,
        400,
    )
    assert await _code(client.create_order(**order)) == (-1102, 400)
    assert await _code(client.get_order(symbol="BTCUSDT", orderId=42)) == (-2013, 400)
    assert await _code(client.get_order(symbol="BTCUSDT", origClientOrderId="none")) == (-2013, 400)
    with pytest.raises(BinanceAPIException) as err:
        await client.create_order(**order, quantity="0.00001")
    assert err.value.message == "Filter failure: NOTIONAL"
    with pytest.raises(BinanceAPIException) as err:
        await client.create_order(**{**order, "side": "SELL"}, quantity="2")
    assert err.value.message == "Account has insufficient balance for requested action."
    assert sim.accounts.all_orders() == []  # nothing of the above executed


async def test_bad_signature_key_and_timestamp(sim: Simulator) -> None:
    wrong_secret = make_client(sim, secret="not-the-secret")
    wrong_key = make_client(sim, key="unknown-key")
    good = make_client(sim)
    try:
        assert await _code(wrong_secret.get_account()) == (-1022, 400)
        assert await _code(wrong_key.get_account()) == (-2015, 401)
        good.timestamp_offset -= int(10 * 1000 * sim.config.speed)  # 10 real seconds stale
        with pytest.raises(BinanceAPIException) as err:
            await good.get_account()
        assert (err.value.code, err.value.message) == (
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        )
        sync(good, sim)
        good.timestamp_offset += int(5 * 1000 * sim.config.speed)
        with pytest.raises(BinanceAPIException) as err:
            await good.get_account()
        assert err.value.code == -1021 and "ahead of the server's time" in err.value.message
        sync(good, sim)
        assert (await good.get_account())["accountType"] == "SPOT"
    finally:
        for c in (wrong_secret, wrong_key, good):
            await c.close_connection()


async def test_duplicate_client_order_id_only_while_open(client: AsyncClient) -> None:
    last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
    resting = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": str((last * Decimal("1.5")).quantize(Decimal("0.01"))),
    }
    await client.create_order(**resting, newClientOrderId="dup")
    assert await _code(client.create_order(**resting, newClientOrderId="dup")) == (-2010, 400)
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    await client.create_order(**market, newClientOrderId="again")
    again = await client.create_order(**market, newClientOrderId="again")
    assert again["status"] == "FILLED"
