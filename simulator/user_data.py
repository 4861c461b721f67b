"""User-data events (executionReport, outboundAccountPosition, listStatus, balanceUpdate)
in Binance's field layout (user-data-stream.md), and the hub that hands them to subscribers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from simulator.accounts import Account
from simulator.money import fmt8
from simulator.orders import ZERO, Fill, Order, OrderList

log = logging.getLogger(__name__)
Event = dict[str, object]
Sink = Callable[[Event], None]


def execution_report(
    order: Order,
    exec_type: str,
    now: int,
    fill: Fill | None = None,
    execution_id: int = 0,
    cancel_client_id: str | None = None,
    reject_reason: str = "NONE",
) -> Event:
    """One `executionReport`; `fill` is the trade of an exec_type TRADE event."""
    canceled = exec_type == "CANCELED"
    event: Event = {
        "e": "executionReport",
        "E": max(now, order.update_time),
        "s": order.symbol,
        "c": cancel_client_id if canceled and cancel_client_id else order.client_order_id,
        "S": order.side,
        "o": order.type,
        "f": order.time_in_force,
        "q": fmt8(order.orig_qty),
        "p": fmt8(order.price),
        "P": fmt8(order.stop_price),
        "F": fmt8(order.iceberg_qty or ZERO),
        "g": order.order_list_id,
        "C": order.client_order_id if canceled else "",
        "x": exec_type,
        "X": order.status,
        "r": reject_reason,
        "i": order.order_id,
        "l": fmt8(fill.qty if fill else ZERO),
        "z": fmt8(order.executed_qty),
        "L": fmt8(fill.price if fill else ZERO),
        "n": fmt8(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": fill.time if fill else order.update_time,
        "t": fill.trade_id if fill else -1,
        "I": execution_id,
        "w": order.working and order.is_open,
        "m": fill.is_maker if fill else False,
        "M": fill is not None,
        "O": order.time,
        "Z": fmt8(order.cumm_quote),
        "Y": fmt8(fill.price * fill.qty if fill else ZERO),
        "Q": fmt8(order.orig_quote_qty),
    }
    if order.strategy_id is not None:
        event["j"] = order.strategy_id
    if order.strategy_type is not None:
        event["J"] = order.strategy_type
    if order.working and order.working_time >= 0:
        event["W"] = order.working_time
    event["V"] = order.stp_mode
    if order.status == "EXPIRED" and order.expiry_reason:
        event["eR"] = order.expiry_reason
    return event


def account_position(account: Account, assets: list[str], now: int) -> Event:
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": account.update_time or now,
        "B": [
            {
                "a": a,
                "f": fmt8(account.free.get(a, ZERO)),
                "l": fmt8(account.locked.get(a, ZERO)),
            }
            for a in assets
        ],
    }


def balance_update(asset: str, delta: Decimal, now: int) -> Event:
    return {"e": "balanceUpdate", "E": now, "a": asset, "d": fmt8(delta), "T": now}


def list_status(order_list: OrderList, now: int) -> Event:
    return {
        "e": "listStatus",
        "E": now,
        "s": order_list.symbol,
        "g": order_list.order_list_id,
        "c": order_list.contingency_type,
        "l": order_list.list_status_type,
        "L": order_list.list_order_status,
        "r": "NONE",
        "C": order_list.list_client_order_id,
        "T": now,
        "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in order_list.orders],
    }


class UserDataHub:
    """Subscribers per API key; publishing never waits (each sink queues on its own)."""

    def __init__(self) -> None:
        self._sinks: dict[int, tuple[str, Sink]] = {}
        self._next = 0

    def subscribe(self, api_key: str, sink: Sink) -> int:
        token = self._next
        self._next += 1
        self._sinks[token] = (api_key, sink)
        return token

    def unsubscribe(self, token: int) -> None:
        self._sinks.pop(token, None)

    def publish(self, api_key: str, event: Event) -> None:
        for key, sink in list(self._sinks.values()):
            if key == api_key:
                sink(event)

    def has_subscribers(self, api_key: str) -> bool:
        return any(key == api_key for key, _ in self._sinks.values())
