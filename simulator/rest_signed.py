"""Signed endpoints of /api/v3: account, order (POST/GET/DELETE), open/all orders, myTrades."""

from __future__ import annotations

from collections.abc import Mapping

from simulator import errors, views
from simulator.endpoint import Endpoint
from simulator.engine import Engine
from simulator.order_types import default_resp_type, parse_order, resp_type
from simulator.orders import Order
from simulator.params import Params
from simulator.state import MarketState


def _open_orders_weight(query: Mapping[str, str]) -> int:
    return 6 if query.get("symbol") else 80


def _my_trades_weight(query: Mapping[str, str]) -> int:
    return 5 if query.get("orderId") else 20


class SignedApi:
    """Handlers of the signed endpoints; the caller's API key is already verified."""

    def __init__(self, state: MarketState, engine: Engine) -> None:
        self._state = state
        self._engine = engine
        self._accounts = engine.accounts

    def endpoints(self) -> list[Endpoint]:
        base = "/api/v3/"
        return [
            Endpoint("GET", base + "account", 20, self.account, signed=True),
            Endpoint("POST", base + "order", 1, self.new_order, signed=True, order=True),
            Endpoint("GET", base + "order", 4, self.get_order, signed=True),
            Endpoint("DELETE", base + "order", 1, self.cancel_order, signed=True, order=True),
            Endpoint(
                "GET",
                base + "openOrders",
                6,
                self.open_orders,
                signed=True,
                weigher=_open_orders_weight,
            ),
            Endpoint("DELETE", base + "openOrders", 1, self.cancel_open_orders, signed=True),
            Endpoint("GET", base + "allOrders", 20, self.all_orders, signed=True),
            Endpoint(
                "GET",
                base + "myTrades",
                20,
                self.my_trades,
                signed=True,
                weigher=_my_trades_weight,
            ),
        ]

    @staticmethod
    def _key(api_key: str | None) -> str:
        assert api_key is not None, "signed endpoints always get the caller's key"
        return api_key

    def symbol(self, params: Params) -> str:
        return self._state.tape(params.get("symbol")).spec.symbol

    async def account(self, params: Params, api_key: str | None) -> object:
        self._state.advance()
        acct = self._accounts.account(self._key(api_key))
        omit = params.get("omitZeroBalances") == "true"
        uid = 100_000 + list(self._state.config.credentials()).index(self._key(api_key))
        return views.account(acct, self._state.config.commission_rate, omit, uid)

    async def new_order(self, params: Params, api_key: str | None) -> object:
        request = parse_order(params, self.symbol(params))
        answer = resp_type(params, default_resp_type(request.type))
        order = self._engine.place(self._key(api_key), request)
        self._state.stats["orders_executed"] += 1
        return views.placed(order, answer)

    def order_ref(self, params: Params, prefix: str = "orig") -> tuple[int | None, str | None]:
        order_id = params.int_("orderId" if prefix == "orig" else f"{prefix}OrderId")
        name = "origClientOrderId" if prefix == "orig" else f"{prefix}OrigClientOrderId"
        client_id = params.get(name)
        if order_id is None and client_id is None:
            first = "origClientOrderId" if prefix == "orig" else name
            second = "orderId" if prefix == "orig" else f"{prefix}OrderId"
            raise errors.ApiError(
                400,
                -1102,
                f"Param '{first}' or '{second}' must be sent, but both were empty/null!",
            )
        return order_id, client_id

    async def get_order(self, params: Params, api_key: str | None) -> object:
        symbol = self.symbol(params)
        order_id, client_id = self.order_ref(params)
        self._state.advance()
        return views.query(self._accounts.find(self._key(api_key), symbol, order_id, client_id))

    def find_open(self, api_key: str, symbol: str, params: Params, prefix: str = "orig") -> Order:
        order_id, client_id = self.order_ref(params, prefix)
        self._state.advance()
        try:
            order = self._accounts.find(api_key, symbol, order_id, client_id)
        except errors.ApiError:
            raise errors.unknown_order() from None
        if not order.is_open:
            raise errors.unknown_order()
        return order

    async def cancel_order(self, params: Params, api_key: str | None) -> object:
        key = self._key(api_key)
        order = self.find_open(key, self.symbol(params), params)
        cancel_id = self._engine.cancel(order, params.get("newClientOrderId"))
        return views.canceled(order, cancel_id, self._state.clock.now_ms())

    async def cancel_open_orders(self, params: Params, api_key: str | None) -> object:
        """Cancels every open order of the symbol; an OCO answers as its order list."""
        key, symbol = self._key(api_key), self.symbol(params)
        self._state.advance()
        open_orders = self._accounts.open_orders(key, symbol)
        if not open_orders:
            raise errors.unknown_order()
        now = self._state.clock.now_ms()
        answers: list[object] = []
        seen_lists: set[int] = set()
        for order in open_orders:
            if not order.is_open or order.order_list_id in seen_lists:
                continue
            cancel_id = self._engine.cancel(order, params.get("newClientOrderId"))
            order_list = self._accounts.list_of(order)
            if order_list is None:
                answers.append(views.canceled(order, cancel_id, now))
                continue
            seen_lists.add(order_list.order_list_id)
            reports = [views.canceled(o, cancel_id, now) for o in order_list.orders]
            answers.append(views.order_list(order_list, reports))
        return answers

    async def open_orders(self, params: Params, api_key: str | None) -> object:
        if params.has("symbol") and params.has("symbols"):
            raise errors.ApiError(400, -1128, "Combination of optional parameters invalid.")
        symbol = self.symbol(params) if params.has("symbol") else None
        self._state.advance()
        return [views.query(o) for o in self._accounts.open_orders(self._key(api_key), symbol)]

    async def all_orders(self, params: Params, api_key: str | None) -> object:
        symbol = self.symbol(params)
        from_id = params.int_("orderId")
        start, end = params.int_("startTime"), params.int_("endTime")
        limit = params.limit(500, 1000)
        self._state.advance()
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
        symbol = self.symbol(params)
        order_id, from_id = params.int_("orderId"), params.int_("fromId")
        start, end = params.int_("startTime"), params.int_("endTime")
        limit = params.limit(500, 1000)
        self._state.advance()
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
