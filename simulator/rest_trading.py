"""More signed trading endpoints: order/test, order/cancelReplace, order lists (OCO),
account/commission and rateLimit/order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from simulator import errors, views
from simulator.endpoint import Endpoint
from simulator.engine import Engine
from simulator.money import fmt8
from simulator.order_count import OrderCounter
from simulator.order_types import (
    client_id,
    default_resp_type,
    parse_order,
    rejected,
    resp_type,
    side_of,
)
from simulator.orders import Order, OrderList, OrderRequest
from simulator.params import Params
from simulator.rest_signed import SignedApi
from simulator.state import MarketState

ABOVE_TYPES = ("STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
BAD_PRICES = "The relationship of the prices for the orders is not correct."


def _test_weight(query: Mapping[str, str]) -> int:
    return 20 if query.get("computeCommissionRates") == "true" else 1


class TradingApi:
    """Handlers next to SignedApi's; same engine, same order counter."""

    def __init__(
        self, state: MarketState, signed: SignedApi, engine: Engine, counter: OrderCounter
    ) -> None:
        self._state = state
        self._signed = signed
        self._engine = engine
        self._accounts = engine.accounts
        self._counter = counter
        self._rate = engine.accounts.rate

    def endpoints(self) -> list[Endpoint]:
        base = "/api/v3/"
        return [
            Endpoint(
                "POST", base + "order/test", 1, self.test_order, signed=True, weigher=_test_weight
            ),
            Endpoint(
                "POST",
                base + "order/cancelReplace",
                1,
                self.cancel_replace,
                signed=True,
                order=True,
            ),
            Endpoint("POST", base + "orderList/oco", 1, self.new_oco, signed=True, order=True),
            Endpoint("GET", base + "orderList", 4, self.get_order_list, signed=True),
            Endpoint("DELETE", base + "orderList", 1, self.cancel_order_list, signed=True),
            Endpoint("GET", base + "allOrderList", 20, self.all_order_lists, signed=True),
            Endpoint("GET", base + "openOrderList", 6, self.open_order_lists, signed=True),
            Endpoint("GET", base + "account/commission", 20, self.commission, signed=True),
            Endpoint("GET", base + "rateLimit/order", 40, self.rate_limit_order, signed=True),
        ]

    @staticmethod
    def _key(api_key: str | None) -> str:
        assert api_key is not None, "signed endpoints always get the caller's key"
        return api_key

    def _rates(self) -> dict[str, str]:
        return {"maker": fmt8(self._rate), "taker": fmt8(self._rate)}

    async def test_order(self, params: Params, api_key: str | None) -> object:
        """Validates a new order completely and executes nothing."""
        request = parse_order(params, self._signed.symbol(params))
        resp_type(params, default_resp_type(request.type))
        self._engine.validate(self._key(api_key), request)
        if params.get("computeCommissionRates") != "true":
            return {}
        zero = {"maker": fmt8(Decimal(0)), "taker": fmt8(Decimal(0))}
        return {
            "standardCommissionForOrder": self._rates(),
            "specialCommissionForOrder": zero,
            "taxCommissionForOrder": zero,
            "discount": _discount(),
        }

    async def commission(self, params: Params, api_key: str | None) -> object:
        symbol = self._signed.symbol(params)
        zero = fmt8(Decimal(0))
        four_zero = {"maker": zero, "taker": zero, "buyer": zero, "seller": zero}
        return {
            "symbol": symbol,
            "standardCommission": {**self._rates(), "buyer": zero, "seller": zero},
            "specialCommission": four_zero,
            "taxCommission": four_zero,
            "discount": _discount(),
        }

    async def rate_limit_order(self, params: Params, api_key: str | None) -> object:
        return self._counter.rate_limits(self._key(api_key))

    async def cancel_replace(self, params: Params, api_key: str | None) -> object:
        key, symbol = self._key(api_key), self._signed.symbol(params)
        mode = params.require("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise errors.invalid("cancelReplaceMode")
        restriction = params.get("cancelRestrictions")
        if restriction not in (None, "ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
            raise errors.invalid("cancelRestrictions")
        request = parse_order(params, symbol)
        answer = resp_type(params, default_resp_type(request.type))
        self._counter.check(key)
        self._signed.order_ref(params, "cancel")
        cancel: dict[str, object]
        canceled = False
        try:
            order = self._signed.find_open(key, symbol, params, "cancel")
            if restriction is not None and order.status != restriction.removeprefix("ONLY_"):
                raise rejected("Order was not canceled due to cancel restrictions.")
            cancel_id = self._engine.cancel(order, client_id(params, "cancelNewClientOrderId"))
            cancel = views.canceled(order, cancel_id, self._engine_now())
            canceled = True
        except errors.ApiError as err:
            cancel = err.body()
        if not canceled and mode == "STOP_ON_FAILURE":
            raise _replace_error(False, cancel, "NOT_ATTEMPTED", None)
        try:
            placed = self._engine.place(key, request)
        except errors.ApiError as err:
            raise _replace_error(canceled, cancel, "FAILURE", err.body()) from None
        new = views.placed(placed, answer)
        if not canceled:
            raise _replace_error(False, cancel, "SUCCESS", new)
        return {
            "cancelResult": "SUCCESS",
            "newOrderResult": "SUCCESS",
            "cancelResponse": cancel,
            "newOrderResponse": new,
        }

    def _engine_now(self) -> int:
        return self._state.clock.now_ms()

    # -- order lists -----------------------------------------------------------------------

    async def new_oco(self, params: Params, api_key: str | None) -> object:
        key, symbol = self._key(api_key), self._signed.symbol(params)
        side = side_of(params)
        params.require("quantity")
        above = parse_order(params, symbol, "above", side)
        below = parse_order(params, symbol, "below", side)
        if above.type not in ABOVE_TYPES:
            raise errors.ApiError(400, -1116, "Invalid orderType.")
        if below.type not in ABOVE_TYPES:
            raise errors.ApiError(400, -1116, "Invalid orderType.")
        _check_oco(side, above, below, self._engine.last_price(symbol))
        answer = resp_type(params, "RESULT")
        self._counter.check(key, 2)
        list_id = client_id(params, "listClientOrderId")
        order_list = self._engine.place_oco(key, (below, above), list_id)
        reports = [_report(o, answer) for o in order_list.orders]
        return views.order_list(order_list, reports)

    def _find_list(self, params: Params, api_key: str) -> OrderList:
        list_id = params.int_("orderListId")
        list_client = params.get("listClientOrderId") or params.get("origClientOrderId")
        if list_id is None and list_client is None:
            raise errors.ApiError(
                400,
                -1102,
                "Param 'listClientOrderId' or 'orderListId' must be sent, but both were "
                "empty/null!",
            )
        self._state.advance()
        return self._accounts.find_list(api_key, list_id, list_client)

    async def get_order_list(self, params: Params, api_key: str | None) -> object:
        return views.order_list(self._find_list(params, self._key(api_key)))

    async def cancel_order_list(self, params: Params, api_key: str | None) -> object:
        key, symbol = self._key(api_key), self._signed.symbol(params)
        order_list = self._find_list(params, key)
        if order_list.symbol != symbol or not order_list.is_open:
            raise errors.ApiError(400, -2011, "Order list does not exist or is not open.")
        cancel_id = self._engine.cancel(order_list.orders[0], params.get("newClientOrderId"))
        now = self._engine_now()
        reports = [views.canceled(o, cancel_id, now) for o in order_list.orders]
        return views.order_list(order_list, reports)

    async def all_order_lists(self, params: Params, api_key: str | None) -> object:
        from_id = params.int_("fromId")
        start, end = params.int_("startTime"), params.int_("endTime")
        if from_id is not None and (start is not None or end is not None):
            raise errors.ApiError(400, -1128, "Combination of optional parameters invalid.")
        limit = params.limit(500, 1000)
        rows = [
            lst
            for lst in self._accounts.account(self._key(api_key)).lists
            if (from_id is None or lst.order_list_id >= from_id)
            and (start is None or lst.time >= start)
            and (end is None or lst.time <= end)
        ]
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return [views.order_list(lst) for lst in rows]

    async def open_order_lists(self, params: Params, api_key: str | None) -> object:
        self._state.advance()
        lists = self._accounts.account(self._key(api_key)).lists
        return [views.order_list(lst) for lst in lists if lst.is_open]


def _discount() -> dict[str, object]:
    return {
        "enabledForAccount": False,
        "enabledForSymbol": False,
        "discountAsset": "BNB",
        "discount": fmt8(Decimal(0)),
    }


def _report(order: Order, answer: str) -> dict[str, object]:
    return views.ack(order) if answer == "ACK" else views.result(order)


def _replace_error(
    canceled: bool, cancel: dict[str, object], new_result: str, new: dict[str, object] | None
) -> errors.ApiError:
    both_failed = not canceled and new_result != "SUCCESS"
    code, msg = (
        (-2022, "Order cancel-replace failed.")
        if both_failed
        else (
            -2021,
            "Order cancel-replace partially failed.",
        )
    )
    status = 409 if canceled and new_result == "FAILURE" else 400
    data: dict[str, object] = {
        "cancelResult": "SUCCESS" if canceled else "FAILURE",
        "newOrderResult": new_result,
        "cancelResponse": cancel,
        "newOrderResponse": new,
    }
    return errors.ApiError(status, code, msg, data=data)


def _limit_price(leg: OrderRequest) -> Decimal:
    """The price an OCO leg is compared with the last price by."""
    if leg.type in ("LIMIT_MAKER", "TAKE_PROFIT_LIMIT") and leg.price is not None:
        return leg.price
    assert leg.stop_price is not None
    return leg.stop_price


def _check_oco(side: str, above: OrderRequest, below: OrderRequest, last: Decimal) -> None:
    """One leg a limit maker / take profit, the other a stop loss, each on its side."""
    stops = [leg for leg in (above, below) if leg.type.startswith("STOP_LOSS")]
    if len(stops) != 1:
        raise errors.ApiError(400, -1168, "At least one OCO order must be contingent.")
    stop = stops[0]
    if side == "SELL" and stop is above:
        raise errors.ApiError(400, -1197, "A stop loss order in a sell OCO must be below.")
    if side == "BUY" and stop is below:
        raise errors.ApiError(400, -1196, "A stop loss order in a buy OCO must be above.")
    high, low = _limit_price(above), _limit_price(below)
    if not low < last < high:
        raise rejected(BAD_PRICES)
