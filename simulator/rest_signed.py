"""Signed endpoints of /api/v3: account, order (POST/GET/DELETE), open/all orders, myTrades."""

from __future__ import annotations

import re

from simulator import errors, views
from simulator.accounts import Accounts, OrderRequest
from simulator.endpoint import Endpoint
from simulator.params import Params
from simulator.state import MarketState

CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_.]{1,36}$")
RESP_TYPES = ("ACK", "RESULT", "FULL")


class SignedApi:
    """Handlers of the signed endpoints; the caller's API key is already verified."""

    def __init__(self, state: MarketState, accounts: Accounts) -> None:
        self._state = state
        self._accounts = accounts

    def endpoints(self) -> list[Endpoint]:
        base = "/api/v3/"
        return [
            Endpoint("GET", base + "account", 20, self.account, signed=True),
            Endpoint("POST", base + "order", 1, self.new_order, signed=True, order=True),
            Endpoint("GET", base + "order", 4, self.get_order, signed=True),
            Endpoint("DELETE", base + "order", 1, self.cancel_order, signed=True, order=True),
            Endpoint("GET", base + "openOrders", 6, self.open_orders, signed=True),
            Endpoint("GET", base + "allOrders", 20, self.all_orders, signed=True),
            Endpoint("GET", base + "myTrades", 20, self.my_trades, signed=True),
        ]

    @staticmethod
    def _key(api_key: str | None) -> str:
        assert api_key is not None, "signed endpoints always get the caller's key"
        return api_key

    def _symbol(self, params: Params) -> str:
        return self._state.tape(params.get("symbol")).spec.symbol

    async def account(self, params: Params, api_key: str | None) -> object:
        acct = self._accounts.account(self._key(api_key))
        omit = params.get("omitZeroBalances") == "true"
        uid = 100_000 + list(self._state.config.credentials()).index(self._key(api_key))
        return views.account(acct, self._state.config.commission_rate, omit, uid)

    async def new_order(self, params: Params, api_key: str | None) -> object:
        symbol = self._symbol(params)
        side = params.require("side")
        if side not in ("BUY", "SELL"):
            raise errors.ApiError(400, -1117, "Invalid side.")
        order_type = params.require("type")
        if order_type not in ("MARKET", "LIMIT"):
            raise errors.ApiError(400, -1116, "Invalid orderType.")
        client_id = params.get("newClientOrderId")
        if client_id is not None and not CLIENT_ID.match(client_id):
            raise errors.illegal("newClientOrderId")
        resp_type = params.get("newOrderRespType") or "FULL"
        if resp_type not in RESP_TYPES:
            raise errors.invalid("newOrderRespType")
        request = OrderRequest(
            symbol=symbol,
            side=side,
            type=order_type,
            quantity=params.decimal("quantity"),
            quote_qty=params.decimal("quoteOrderQty"),
            price=params.decimal("price"),
            time_in_force=params.get("timeInForce"),
            client_order_id=client_id,
        )
        order = self._accounts.place(self._key(api_key), request)
        self._state.stats["orders_executed"] += 1
        if resp_type == "ACK":
            return views.ack(order)
        return views.result(order) if resp_type == "RESULT" else views.full(order)

    def _order_ref(self, params: Params) -> tuple[int | None, str | None]:
        order_id = params.int_("orderId")
        client_id = params.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise errors.ApiError(
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        return order_id, client_id

    async def get_order(self, params: Params, api_key: str | None) -> object:
        symbol = self._symbol(params)
        order_id, client_id = self._order_ref(params)
        return views.query(self._accounts.find(self._key(api_key), symbol, order_id, client_id))

    async def cancel_order(self, params: Params, api_key: str | None) -> object:
        symbol = self._symbol(params)
        order_id, client_id = self._order_ref(params)
        new_id = params.get("newClientOrderId")
        order, cancel_id = self._accounts.cancel(
            self._key(api_key), symbol, order_id, client_id, new_id
        )
        return views.canceled(order, cancel_id, self._state.clock.now_ms())

    async def open_orders(self, params: Params, api_key: str | None) -> object:
        symbol = self._symbol(params) if params.has("symbol") else None
        orders = self._accounts.all_orders(self._key(api_key))
        return [
            views.query(o)
            for o in orders
            if o.status == "NEW" and (symbol is None or o.symbol == symbol)
        ]

    async def all_orders(self, params: Params, api_key: str | None) -> object:
        symbol = self._symbol(params)
        from_id = params.int_("orderId")
        start, end = params.int_("startTime"), params.int_("endTime")
        limit = params.limit(500, 1000)
        rows = [
            o
            for o in self._accounts.all_orders(self._key(api_key))
            if o.symbol == symbol
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return [views.query(o) for o in rows]

    async def my_trades(self, params: Params, api_key: str | None) -> object:
        symbol = self._symbol(params)
        order_id, from_id = params.int_("orderId"), params.int_("fromId")
        start, end = params.int_("startTime"), params.int_("endTime")
        limit = params.limit(500, 1000)
        rows = [
            (o, f)
            for o in self._accounts.all_orders(self._key(api_key))
            if o.symbol == symbol and (order_id is None or o.order_id == order_id)
            for f in o.fills
            if (from_id is None or f.trade_id >= from_id)
            and (start is None or f.time >= start)
            and (end is None or f.time <= end)
        ]
        rows.sort(key=lambda pair: pair[1].trade_id)
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return [views.my_trade(o, f) for o, f in rows]
