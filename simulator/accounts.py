"""Accounts per API key: balances (Decimal, free and locked), their orders and order lists.

The matching engine (engine.py) decides; this module keeps the books: ids, locks, fills
applied to balances, and look-ups by id. Commission: `commission_rate` of what is received:
a BUY pays in the base asset, a SELL in the quote asset (Binance without BNB fee discount),
rounded down to 8 decimals.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from simulator import errors
from simulator.config import SimulatorConfig, SymbolSpec
from simulator.money import EIGHT
from simulator.orders import ZERO, Fill, Order, OrderList
from simulator.state import MarketState

FIRST_ORDER_ID = 7_000_000
FIRST_FILL_ID = 50_000_000
FIRST_LIST_ID = 9_000
_ID_CHARS = string.ascii_letters + string.digits


@dataclass
class Account:
    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    orders: list[Order] = field(default_factory=list)
    lists: list[OrderList] = field(default_factory=list)
    update_time: int = 0


class Accounts:
    """Every account, keyed by API key; order, list and fill ids shared by all."""

    def __init__(self, config: SimulatorConfig, state: MarketState) -> None:
        self._config = config
        self._state = state
        self.rate = config.commission_rate
        self._ids = random.Random(f"{config.seed}:client-order-ids")
        self._next_order_id = FIRST_ORDER_ID
        self._next_list_id = FIRST_LIST_ID
        self._next_fill_id = {s: FIRST_FILL_ID for s in state.specs}
        self._accounts: dict[str, Account] = {}
        self.reset()

    def reset(self) -> None:
        """A testnet reset: every account back to the initial balances, no orders, no fills.

        Order, list and fill ids keep growing (see docs/simulator-trading.md "Reset").
        """
        start = {asset: Decimal(amount) for asset, amount in self._config.initial_balances}
        for spec in self._state.specs.values():
            start.setdefault(spec.base, ZERO)
            start.setdefault(spec.quote, ZERO)
        self._accounts = {
            key: Account(dict(start), {a: ZERO for a in start})
            for key in self._config.credentials()
        }

    # -- look-ups --------------------------------------------------------------------------

    def account(self, api_key: str) -> Account:
        return self._accounts[api_key]

    def api_keys(self) -> list[str]:
        return list(self._accounts)

    def all_orders(self, api_key: str | None = None) -> list[Order]:
        keys = [api_key] if api_key is not None else list(self._accounts)
        return [o for k in keys for o in self._accounts[k].orders]

    def open_orders(self, api_key: str, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in self._accounts[api_key].orders
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def find(
        self, api_key: str, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Order:
        """The order by id or client id (the latest one with that client id); else -2013."""
        for order in reversed(self._accounts[api_key].orders):
            if order.symbol != symbol:
                continue
            if order_id is not None and order.order_id != order_id:
                continue
            if client_order_id is not None and order.client_order_id != client_order_id:
                continue
            return order
        raise errors.no_such_order()

    def find_list(self, api_key: str, list_id: int | None, list_client_id: str | None) -> OrderList:
        for order_list in reversed(self._accounts[api_key].lists):
            if list_id is not None and order_list.order_list_id != list_id:
                continue
            if list_client_id is not None and order_list.list_client_order_id != list_client_id:
                continue
            return order_list
        raise errors.ApiError(400, -2018, "Order list does not exist.")

    def list_of(self, order: Order) -> OrderList | None:
        if order.order_list_id < 0:
            return None
        return self.find_list(order.api_key, order.order_list_id, None)

    # -- ids -------------------------------------------------------------------------------

    def new_client_id(self) -> str:
        return "".join(self._ids.choice(_ID_CHARS) for _ in range(22))

    def new_order_id(self) -> int:
        self._next_order_id += 1
        return self._next_order_id - 1

    def keep_order_ids_above(self, order_id: int) -> None:
        """New orders get ids above `order_id` (a restored order holds it)."""
        self._next_order_id = max(self._next_order_id, order_id + 1)

    def new_fill_id(self, symbol: str) -> int:
        """The next trade id of `symbol` (myTrades' `id`)."""
        self._next_fill_id[symbol] += 1
        return self._next_fill_id[symbol] - 1

    def new_list_id(self) -> int:
        self._next_list_id += 1
        return self._next_list_id - 1

    # -- balances --------------------------------------------------------------------------

    def lock(self, order: Order, asset: str, amount: Decimal) -> None:
        account = self._accounts[order.api_key]
        account.free[asset] = account.free.get(asset, ZERO) - amount
        account.locked[asset] = account.locked.get(asset, ZERO) + amount
        order.locked_asset, order.locked = asset, order.locked + amount

    def release(self, order: Order) -> None:
        """Give back what `order` holds locked."""
        if not order.locked:
            return
        account = self._accounts[order.api_key]
        asset = order.locked_asset
        account.locked[asset] -= order.locked
        account.free[asset] = account.free.get(asset, ZERO) + order.locked
        order.locked = ZERO

    def apply_fill(
        self, order: Order, spec: SymbolSpec, price: Decimal, qty: Decimal, now: int, maker: bool
    ) -> Fill:
        """Move the balances of one fill (from free: release the order's lock first)."""
        account = self._accounts[order.api_key]
        quote = qty * price
        if order.side == "BUY":
            commission = (qty * self.rate).quantize(EIGHT, rounding=ROUND_DOWN)
            account.free[spec.base] = account.free.get(spec.base, ZERO) + qty - commission
            account.free[spec.quote] -= quote
            asset = spec.base
        else:
            commission = (quote * self.rate).quantize(EIGHT, rounding=ROUND_DOWN)
            account.free[spec.base] -= qty
            account.free[spec.quote] = account.free.get(spec.quote, ZERO) + quote - commission
            asset = spec.quote
        fill = Fill(self.new_fill_id(spec.symbol), price, qty, commission, asset, now, maker)
        order.fills.append(fill)
        order.executed_qty += qty
        order.cumm_quote += quote
        order.status = "FILLED" if order.executed_qty >= order.orig_qty else "PARTIALLY_FILLED"
        order.update_time = now
        account.update_time = now
        return fill

    def can_afford(self, api_key: str, asset: str, amount: Decimal) -> bool:
        return amount <= self._accounts[api_key].free.get(asset, ZERO)
