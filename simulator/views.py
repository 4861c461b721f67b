"""The JSON shapes of orders, fills and accounts, as Binance's current REST API returns them."""

from __future__ import annotations

from decimal import Decimal

from simulator.accounts import Account
from simulator.money import fmt8
from simulator.orders import ZERO, Fill, Order, OrderList


def ack(order: Order) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


def _conditional(order: Order, iceberg_always: bool = False) -> dict[str, object]:
    """Fields that appear only for some orders (rest-api.md "Conditional fields")."""
    extra: dict[str, object] = {}
    if order.strategy_id is not None:
        extra["strategyId"] = order.strategy_id
    if order.strategy_type is not None:
        extra["strategyType"] = order.strategy_type
    if order.iceberg_qty is not None and not iceberg_always:
        extra["icebergQty"] = fmt8(order.iceberg_qty)
    if order.status == "EXPIRED" and order.expiry_reason:
        extra["expiryReason"] = order.expiry_reason
    return extra


def _order_state(order: Order) -> dict[str, object]:
    """The order's state, in the field order of Binance's RESULT and cancel responses."""
    return {
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "origQuoteOrderQty": fmt8(order.orig_quote_qty),
        "cummulativeQuoteQty": fmt8(order.cumm_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
    }


def result(order: Order) -> dict[str, object]:
    stop = {"stopPrice": fmt8(order.stop_price)} if order.is_algo else {}
    return {
        **ack(order),
        **_order_state(order),
        **stop,
        "workingTime": order.working_time,
        **_conditional(order),
        "selfTradePreventionMode": order.stp_mode,
    }


def fill(f: Fill) -> dict[str, object]:
    return {
        "price": fmt8(f.price),
        "qty": fmt8(f.qty),
        "commission": fmt8(f.commission),
        "commissionAsset": f.commission_asset,
        "tradeId": f.trade_id,
    }


def full(order: Order) -> dict[str, object]:
    return {**result(order), "fills": [fill(f) for f in order.fills]}


def query(order: Order) -> dict[str, object]:
    """GET /api/v3/order, openOrders, allOrders."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": order.client_order_id,
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "cummulativeQuoteQty": fmt8(order.cumm_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": fmt8(order.stop_price),
        "icebergQty": fmt8(order.iceberg_qty or ZERO),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": order.working,
        "workingTime": order.working_time,
        "origQuoteOrderQty": fmt8(order.orig_quote_qty),
        **_conditional(order, iceberg_always=True),
        "selfTradePreventionMode": order.stp_mode,
    }


def canceled(order: Order, cancel_client_id: str, now: int) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "clientOrderId": cancel_client_id,
        "transactTime": now,
        **_order_state(order),
        **({"stopPrice": fmt8(order.stop_price)} if order.is_algo else {}),
        **_conditional(order),
        "selfTradePreventionMode": order.stp_mode,
    }


def my_trade(order: Order, f: Fill) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "id": f.trade_id,
        "orderId": order.order_id,
        "orderListId": order.order_list_id,
        "price": fmt8(f.price),
        "qty": fmt8(f.qty),
        "quoteQty": fmt8(f.price * f.qty),
        "commission": fmt8(f.commission),
        "commissionAsset": f.commission_asset,
        "time": f.time,
        "isBuyer": order.side == "BUY",
        "isMaker": f.is_maker,
        "isBestMatch": True,
    }


def account(acct: Account, rate: Decimal, omit_zero: bool, uid: int) -> dict[str, object]:
    bps = int(rate * 10_000)
    rates = {
        "maker": fmt8(rate),
        "taker": fmt8(rate),
        "buyer": fmt8(Decimal(0)),
        "seller": fmt8(Decimal(0)),
    }
    balances = [
        {"asset": asset, "free": fmt8(free), "locked": fmt8(acct.locked.get(asset, Decimal(0)))}
        for asset, free in sorted(acct.free.items())
        if not omit_zero or free or acct.locked.get(asset)
    ]
    return {
        "makerCommission": bps,
        "takerCommission": bps,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": rates,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": acct.update_time,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": uid,
    }


def order_list(lst: OrderList, reports: list[dict[str, object]] | None = None) -> dict[str, object]:
    """An order list (OCO): its status, its orders and, for placements and cancels, reports."""
    body: dict[str, object] = {
        "orderListId": lst.order_list_id,
        "contingencyType": lst.contingency_type,
        "listStatusType": lst.list_status_type,
        "listOrderStatus": lst.list_order_status,
        "listClientOrderId": lst.list_client_order_id,
        "transactionTime": lst.time,
        "symbol": lst.symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in lst.orders
        ],
    }
    if reports is not None:
        body["orderReports"] = reports
    return body


def placed(order: Order, resp_type: str) -> dict[str, object]:
    """The answer to a new order in the requested newOrderRespType."""
    if resp_type == "ACK":
        return ack(order)
    return result(order) if resp_type == "RESULT" else full(order)
