"""OCO order lists, order/test, cancelReplace, DELETE openOrders, commission and order counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import Simulator
from tests.simulator.conftest import KEY, sync

TICK = Decimal("0.01")


async def _last(client: AsyncClient) -> Decimal:
    return Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])


def _px(value: Decimal) -> str:
    return str(value.quantize(TICK))


async def _error(coro: Any) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as err:
        await coro
    return err.value


def _oco(last: Decimal, **kw: Any) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "quantity": "0.01",
        "aboveType": "LIMIT_MAKER",
        "abovePrice": _px(last * Decimal("1.05")),
        "belowType": "STOP_LOSS_LIMIT",
        "belowStopPrice": _px(last * Decimal("0.95")),
        "belowPrice": _px(last * Decimal("0.94")),
        "belowTimeInForce": "GTC",
        **kw,
    }


async def test_oco_stop_leg_fills_on_a_crash_and_expires_the_other(
    client: AsyncClient, sim: Simulator
) -> None:
    last = await _last(client)
    placed = await client.create_oco_order(**_oco(last))
    assert (placed["contingencyType"], placed["listStatusType"], placed["listOrderStatus"]) == (
        "OCO",
        "EXEC_STARTED",
        "EXECUTING",
    )
    below, above = placed["orderReports"]
    assert (below["type"], below["workingTime"], above["type"]) == (
        "STOP_LOSS_LIMIT",
        -1,
        "LIMIT_MAKER",
    )
    assert below["orderListId"] == above["orderListId"] == placed["orderListId"]
    assert sim.accounts.account(KEY).locked["BTC"] == Decimal("0.01")  # one lock for both legs
    assert len(await client.get_open_oco_orders()) == 1
    sim.controls.shock("BTCUSDT", Decimal("-5.5"))
    sync(client, sim)
    stop_leg = await client.get_order(symbol="BTCUSDT", orderId=below["orderId"])
    limit_leg = await client.get_order(symbol="BTCUSDT", orderId=above["orderId"])
    assert (stop_leg["status"], limit_leg["status"]) == ("FILLED", "EXPIRED")
    assert limit_leg["expiryReason"] == "OCO_TRIGGER"
    listed = await client._get("orderList", True, data={"orderListId": placed["orderListId"]})
    assert (listed["listStatusType"], listed["listOrderStatus"]) == ("ALL_DONE", "ALL_DONE")
    assert sim.accounts.account(KEY).locked["BTC"] == 0
    assert await client.get_open_oco_orders() == []


async def test_oco_cancel_and_bad_prices(client: AsyncClient, sim: Simulator) -> None:
    last = await _last(client)
    placed = await client.create_oco_order(**_oco(last))
    canceled = await client._delete(
        "orderList", True, data={"symbol": "BTCUSDT", "orderListId": placed["orderListId"]}
    )
    assert [r["status"] for r in canceled["orderReports"]] == ["CANCELED", "CANCELED"]
    assert canceled["listOrderStatus"] == "ALL_DONE"
    assert sim.accounts.account(KEY).locked["BTC"] == 0
    wrong = _oco(last, abovePrice=_px(last * Decimal("0.99")))
    err = await _error(client.create_oco_order(**wrong))
    assert (err.code, err.message) == (
        -2010,
        "The relationship of the prices for the orders is not correct.",
    )
    swapped = _oco(
        last,
        aboveType="STOP_LOSS",
        aboveStopPrice=_px(last * Decimal("1.05")),
        belowType="TAKE_PROFIT",
        belowStopPrice=_px(last * Decimal("0.95")),
        belowPrice=None,
        belowTimeInForce=None,
        abovePrice=None,
    )
    err = await _error(
        client.create_oco_order(**{k: v for k, v in swapped.items() if v is not None})
    )
    assert err.code == -1197


async def test_order_test_validates_and_executes_nothing(
    client: AsyncClient, sim: Simulator
) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    assert await client.create_test_order(**order) == {}
    rates = await client.create_test_order(**order, computeCommissionRates="true")
    assert rates["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    assert set(rates) == {
        "standardCommissionForOrder",
        "specialCommissionForOrder",
        "taxCommissionForOrder",
        "discount",
    }
    err = await _error(client.create_test_order(**{**order, "quantity": "2"}))
    assert (err.code, err.message) == (-1013, "Filter failure: NOTIONAL") or err.code == -2010
    assert sim.accounts.all_orders() == []


async def test_cancel_all_open_orders_and_cancel_replace(
    client: AsyncClient, sim: Simulator
) -> None:
    last = await _last(client)
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    first = await client.create_order(**limit, quantity="0.01", price=_px(last * Decimal("0.9")))
    replaced = await client.cancel_replace_order(
        **limit,
        quantity="0.02",
        price=_px(last * Decimal("0.8")),
        cancelReplaceMode="STOP_ON_FAILURE",
        cancelOrderId=first["orderId"],
    )
    assert (replaced["cancelResult"], replaced["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert replaced["cancelResponse"]["status"] == "CANCELED"
    assert replaced["newOrderResponse"]["origQty"] == "0.02000000"
    err = await _error(
        client.cancel_replace_order(
            **limit,
            quantity="0.02",
            price=_px(last * Decimal("0.8")),
            cancelReplaceMode="STOP_ON_FAILURE",
            cancelOrderId=first["orderId"],
        )
    )
    assert (err.code, err.status_code) == (-2022, 400)
    partial = await _error(
        client.cancel_replace_order(
            symbol="BTCUSDT",
            side="SELL",
            type="LIMIT_MAKER",
            quantity="0.01",
            price=_px(last * Decimal("0.9")),
            cancelReplaceMode="STOP_ON_FAILURE",
            cancelOrderId=replaced["newOrderResponse"]["orderId"],
        )
    )
    assert (partial.code, partial.status_code) == (-2021, 409)
    await client.create_order(**limit, quantity="0.01", price=_px(last * Decimal("0.9")))
    await client.create_oco_order(**_oco(last))
    canceled = await client.cancel_all_open_orders(symbol="BTCUSDT")
    assert len(canceled) == 2 and canceled[0]["status"] == "CANCELED"
    assert canceled[1]["contingencyType"] == "OCO"
    assert sim.accounts.account(KEY).locked == {a: 0 for a in sim.accounts.account(KEY).locked}
    err = await _error(client.cancel_all_open_orders(symbol="BTCUSDT"))
    assert err.code == -2011


async def test_commission_and_order_count(client: AsyncClient) -> None:
    commission = await client._get("account/commission", True, data={"symbol": "BTCUSDT"})
    assert commission["standardCommission"]["taker"] == "0.00100000"
    assert set(commission) == {
        "symbol",
        "standardCommission",
        "specialCommission",
        "taxCommission",
        "discount",
    }
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    await client.create_order(**order)
    await client.create_order(**order)
    assert client.response is not None
    headers = client.response.headers
    assert (headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1D"]) == ("2", "2")
    counts = await client.get_current_order_count()
    assert [(c["interval"], c["count"], c["limit"]) for c in counts] == [
        ("SECOND", 2, 50),
        ("DAY", 2, 160000),
    ]
