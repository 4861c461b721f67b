"""The JSON shapes of orders, fills and accounts, as Binance's current REST API returns them."""

from __future__ import annotations

from decimal import Decimal

from simulator.accounts import Account, Fill, Order
from simulator.money import fmt8

STP_MODE = "EXPIRE_MAKER"


def ack(order: Order) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.time,
    }


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
    return {
        **ack(order),
        **_order_state(order),
        "workingTime": order.time,
        "selfTradePreventionMode": STP_MODE,
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
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": fmt8(order.price),
        "origQty": fmt8(order.orig_qty),
        "executedQty": fmt8(order.executed_qty),
        "cummulativeQuoteQty": fmt8(order.cumm_quote),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.type,
        "side": order.side,
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "workingTime": order.time,
        "origQuoteOrderQty": fmt8(order.orig_quote_qty),
        "selfTradePreventionMode": STP_MODE,
    }


def canceled(order: Order, cancel_client_id: str, now: int) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_id,
        "transactTime": now,
        **_order_state(order),
        "selfTradePreventionMode": STP_MODE,
    }


def my_trade(order: Order, f: Fill) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "id": f.trade_id,
        "orderId": order.order_id,
        "orderListId": -1,
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
