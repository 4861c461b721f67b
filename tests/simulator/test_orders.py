"""Order types, time in force, stop triggers and filters, through python-binance unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import Simulator
from tests.simulator.conftest import KEY, make_client, make_config, sync

TICK = Decimal("0.01")


async def _last(client: AsyncClient, symbol: str = "BTCUSDT") -> Decimal:
    return Decimal((await client.get_symbol_ticker(symbol=symbol))["price"])


def _px(value: Decimal) -> str:
    return str(value.quantize(TICK))


async def _error(coro: Any) -> tuple[int, str]:
    with pytest.raises(BinanceAPIException) as err:
        await coro
    return err.value.code, err.value.message


def _order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "quantity": "0.01", **kw}


async def test_limit_time_in_force(client: AsyncClient, sim: Simulator) -> None:
    last = await _last(client)
    ioc = await client.create_order(
        **_order(side="BUY", type="LIMIT", timeInForce="IOC", price=_px(last * Decimal("1.01")))
    )
    assert (ioc["status"], ioc["timeInForce"], len(ioc["fills"])) == ("FILLED", "IOC", 1)
    assert Decimal(ioc["fills"][0]["price"]) <= last * Decimal("1.01")
    missed = await client.create_order(
        **_order(side="BUY", type="LIMIT", timeInForce="FOK", price=_px(last * Decimal("0.9")))
    )
    assert (missed["status"], missed["executedQty"], missed["fills"]) == (
        "EXPIRED",
        "0.00000000",
        [],
    )
    assert missed["expiryReason"] == "UNFILLED_FOK_ORDER_EXPIRED"
    assert sim.accounts.account(KEY).locked["USDT"] == 0
    assert await client.get_open_orders(symbol="BTCUSDT") == []


async def test_limit_maker_rests_or_is_rejected(client: AsyncClient, sim: Simulator) -> None:
    last = await _last(client)
    taking = _order(side="SELL", type="LIMIT_MAKER", price=_px(last * Decimal("0.99")))
    assert await _error(client.create_order(**taking)) == (
        -2010,
        "Order would immediately match and take.",
    )
    resting = await client.create_order(
        **_order(side="SELL", type="LIMIT_MAKER", price=_px(last * Decimal("1.2")))
    )
    assert "fills" not in resting  # LIMIT_MAKER answers ACK by default
    got = await client.get_order(symbol="BTCUSDT", orderId=resting["orderId"])
    assert (got["status"], got["type"], got["isWorking"]) == ("NEW", "LIMIT_MAKER", True)
    assert sim.accounts.account(KEY).locked["BTC"] == Decimal("0.01")
    with_tif = _order(side="SELL", type="LIMIT_MAKER", price="70000", timeInForce="GTC")
    assert (await _error(client.create_order(**with_tif)))[0] == -1106


async def test_stop_loss_triggers_on_a_crash(client: AsyncClient, sim: Simulator) -> None:
    last = await _last(client)
    stop = last * Decimal("0.95")
    placed = await client.create_order(
        **_order(side="SELL", type="STOP_LOSS", stopPrice=_px(stop), newOrderRespType="RESULT")
    )
    assert (placed["status"], placed["stopPrice"], placed["workingTime"]) == (
        "NEW",
        _px(stop) + "000000",
        -1,
    )
    got = await client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert got["isWorking"] is False and got["stopPrice"] == placed["stopPrice"]
    assert sim.accounts.account(KEY).locked["BTC"] == Decimal("0.01")
    shock = sim.controls.shock("BTCUSDT", Decimal(-10))
    sync(client, sim)
    got = await client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert got["status"] == "FILLED" and got["isWorking"] is True
    trades = await client.get_my_trades(symbol="BTCUSDT", orderId=placed["orderId"])
    assert [Decimal(t["price"]) for t in trades] == [Decimal(str(shock["price"]))]
    assert trades[0]["isMaker"] is False and trades[0]["isBuyer"] is False
    account = sim.accounts.account(KEY)
    assert account.locked["BTC"] == 0 and account.free["BTC"] == Decimal("0.99")


async def test_stop_limit_and_take_profit_limit(client: AsyncClient, sim: Simulator) -> None:
    last = await _last(client)
    stop_limit = await client.create_order(
        **_order(
            side="SELL",
            type="STOP_LOSS_LIMIT",
            timeInForce="GTC",
            stopPrice=_px(last * Decimal("0.97")),
            price=_px(last * Decimal("0.96")),
        )
    )
    take = await client.create_order(
        **_order(
            side="SELL",
            type="TAKE_PROFIT_LIMIT",
            timeInForce="GTC",
            stopPrice=_px(last * Decimal("1.05")),
            price=_px(last * Decimal("1.04")),
        )
    )
    assert sim.accounts.account(KEY).locked["BTC"] == Decimal("0.02")
    sim.controls.shock("BTCUSDT", Decimal(8))
    sync(client, sim)
    got = await client.get_order(symbol="BTCUSDT", orderId=take["orderId"])
    assert got["status"] == "FILLED"
    assert Decimal(got["cummulativeQuoteQty"]) >= Decimal("0.01") * last * Decimal("1.04")
    # A crash through both prices: triggered, its limit sell rests above the market.
    sim.controls.shock("BTCUSDT", Decimal(-20))
    sync(client, sim)
    got = await client.get_order(symbol="BTCUSDT", orderId=stop_limit["orderId"])
    assert (got["status"], got["isWorking"]) == ("NEW", True) and got["workingTime"] > 0
    sim.controls.shock("BTCUSDT", Decimal(15))  # back up through the limit: filled as maker
    sync(client, sim)
    got = await client.get_order(symbol="BTCUSDT", orderId=stop_limit["orderId"])
    assert got["status"] == "FILLED"
    assert Decimal(got["cummulativeQuoteQty"]) == Decimal("0.01") * Decimal(got["price"])


async def test_stop_that_would_trigger_now_is_rejected(client: AsyncClient) -> None:
    last = await _last(client)
    for kind, side, factor in (
        ("STOP_LOSS", "SELL", "1.01"),
        ("STOP_LOSS", "BUY", "0.99"),
        ("TAKE_PROFIT", "SELL", "0.99"),
        ("TAKE_PROFIT", "BUY", "1.01"),
    ):
        order = _order(side=side, type=kind, stopPrice=_px(last * Decimal(factor)))
        assert await _error(client.create_order(**order)) == (
            -2010,
            "Order would trigger immediately.",
        )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"type": "STOP_LOSS", "side": "SELL"}, (-1102, "stopPrice")),
        (
            {"type": "STOP_LOSS_LIMIT", "side": "SELL", "stopPrice": "1", "price": "1"},
            (-1102, "timeInForce"),
        ),
        ({"type": "MARKET", "side": "BUY", "price": "1"}, (-1106, "price")),
        (
            {"type": "LIMIT", "side": "BUY", "timeInForce": "DAY", "price": "1"},
            (-1115, "timeInForce"),
        ),
        ({"type": "OTO", "side": "BUY"}, (-1116, "orderType")),
        ({"type": "MARKET", "side": "HOLD"}, (-1117, "side")),
        ({"type": "STOP_LOSS", "side": "SELL", "trailingDelta": "100"}, (-2010, "Trailing stop")),
    ],
)
async def test_parameters_per_order_type(
    client: AsyncClient, overrides: dict[str, str], expected: tuple[int, str]
) -> None:
    code, msg = await _error(client.create_order(**_order(**overrides)))
    assert code == expected[0] and expected[1] in msg


async def test_every_filter_is_enforced(client: AsyncClient, sim: Simulator) -> None:
    info = await client.get_symbol_info("BTCUSDT")
    assert info is not None
    rules = {f["filterType"]: f for f in info["filters"]}
    last = await _last(client)
    limit = {"symbol": "BTCUSDT", "type": "LIMIT", "timeInForce": "GTC", "side": "BUY"}
    cases = [
        ({**limit, "quantity": "0.01", "price": "1000000.01"}, "PRICE_FILTER"),
        ({**limit, "quantity": "0.01", "price": _px(last * Decimal("0.9")) + "5"}, "PRICE_FILTER"),
        ({**limit, "quantity": "0.01", "price": _px(last * Decimal("0.2"))},
         "PERCENT_PRICE_BY_SIDE"),
        ({**limit, "side": "SELL", "quantity": "0.01", "price": _px(last * Decimal("2.1"))},
         "PERCENT_PRICE_BY_SIDE"),
        ({**limit, "quantity": "0.000001", "price": _px(last)}, "LOT_SIZE"),
        ({**limit, "quantity": "9001", "price": _px(last)}, "LOT_SIZE"),
        ({**limit, "quantity": "0.00005", "price": _px(last * Decimal("0.9"))}, "NOTIONAL"),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "166"},
         "MARKET_LOT_SIZE"),
        ({**limit, "quantity": "0.1", "icebergQty": "0.0001", "price": _px(last * Decimal("0.9"))},
         "ICEBERG_PARTS"),
    ]  # fmt: skip
    for params, name in cases:
        assert await _error(client.create_order(**params)) == (-1013, f"Filter failure: {name}")
    assert Decimal(rules["PRICE_FILTER"]["maxPrice"]) == Decimal(1_000_000)
    assert Decimal(rules["PERCENT_PRICE_BY_SIDE"]["bidMultiplierDown"]) == Decimal("0.5")
    stop = {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.001"}
    algo_limit = rules["MAX_NUM_ALGO_ORDERS"]["maxNumAlgoOrders"]
    for i in range(algo_limit):
        await client.create_order(**stop, stopPrice=_px(last * Decimal("0.8") - i))
    assert await _error(client.create_order(**stop, stopPrice=_px(last * Decimal("0.7")))) == (
        -1013,
        "Filter failure: MAX_NUM_ALGO_ORDERS",
    )
    assert sim.stats()["orders_executed"] == algo_limit


async def test_max_num_orders() -> None:
    async with Simulator(make_config(orders_per_10s=300)) as sim:
        client = make_client(sim)
        try:
            await _fill_the_book(client)
        finally:
            await client.close_connection()


async def _fill_the_book(client: AsyncClient) -> None:
    info = await client.get_symbol_info("BTCUSDT")
    assert info is not None
    most = {f["filterType"]: f for f in info["filters"]}["MAX_NUM_ORDERS"]["maxNumOrders"]
    price = _px(await _last(client) * Decimal("0.8"))
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    for _ in range(most):
        await client.create_order(**order, quantity="0.0002", price=price, newOrderRespType="ACK")
    assert await _error(client.create_order(**order, quantity="0.0002", price=price)) == (
        -1013,
        "Filter failure: MAX_NUM_ORDERS",
    )
    assert len(await client.get_open_orders(symbol="BTCUSDT")) == most


async def test_exchange_info_advertises_what_orders_do(client: AsyncClient) -> None:
    info = await client.get_symbol_info("BTCUSDT")
    assert info is not None
    assert info["orderTypes"] == [
        "LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ]  # fmt: skip
    assert (info["ocoAllowed"], info["cancelReplaceAllowed"], info["icebergAllowed"]) == (
        True,
        True,
        True,
    )
    assert not any(
        info[k] for k in ("otoAllowed", "opoAllowed", "allowTrailingStop", "amendAllowed",
                          "pegInstructionsAllowed")
    )  # fmt: skip
