"""Order parameters: which each order type needs and refuses, with Binance's error codes.

Mandatory per type (rest-api.md "New order"): LIMIT timeInForce+quantity+price; MARKET
quantity or quoteOrderQty; STOP_LOSS / TAKE_PROFIT quantity+stopPrice; STOP_LOSS_LIMIT /
TAKE_PROFIT_LIMIT timeInForce+quantity+price+stopPrice; LIMIT_MAKER quantity+price.
Not supported here (and not advertised by exchangeInfo): trailingDelta, pegged orders.
"""

from __future__ import annotations

import re
from decimal import Decimal

from simulator import errors
from simulator.orders import (
    DEFAULT_STP,
    LIMIT_TYPES,
    ORDER_TYPES,
    STP_MODES,
    TIME_IN_FORCE,
    OrderRequest,
)
from simulator.params import Params

CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_.]{1,36}$")
RESP_TYPES = ("ACK", "RESULT", "FULL")
_TYPE_NAMES = {
    "STOP_LOSS": "Stop loss",
    "STOP_LOSS_LIMIT": "Stop loss limit",
    "TAKE_PROFIT": "Take profit",
    "TAKE_PROFIT_LIMIT": "Take profit limit",
}
_NEEDS: dict[str, tuple[str, ...]] = {
    "LIMIT": ("timeInForce", "quantity", "price"),
    "MARKET": (),
    "STOP_LOSS": ("quantity", "stopPrice"),
    "TAKE_PROFIT": ("quantity", "stopPrice"),
    "STOP_LOSS_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
    "TAKE_PROFIT_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
    "LIMIT_MAKER": ("quantity", "price"),
}
_REFUSES: dict[str, tuple[str, ...]] = {
    "LIMIT": ("stopPrice", "quoteOrderQty"),
    "MARKET": ("price", "stopPrice", "timeInForce", "icebergQty"),
    "STOP_LOSS": ("price", "quoteOrderQty", "timeInForce", "icebergQty"),
    "TAKE_PROFIT": ("price", "quoteOrderQty", "timeInForce", "icebergQty"),
    "STOP_LOSS_LIMIT": ("quoteOrderQty",),
    "TAKE_PROFIT_LIMIT": ("quoteOrderQty",),
    "LIMIT_MAKER": ("stopPrice", "quoteOrderQty", "timeInForce"),
}


def rejected(msg: str) -> errors.ApiError:
    return errors.ApiError(400, -2010, msg)


def side_of(params: Params, name: str = "side") -> str:
    side = params.require(name)
    if side not in ("BUY", "SELL"):
        raise errors.ApiError(400, -1117, "Invalid side.")
    return side


def client_id(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not CLIENT_ID.match(value):
        raise errors.illegal(name)
    return value


def resp_type(params: Params, default: str) -> str:
    value = params.get("newOrderRespType") or default
    if value not in RESP_TYPES:
        raise errors.invalid("newOrderRespType")
    return value


def stp_mode(params: Params) -> str:
    value = params.get("selfTradePreventionMode") or DEFAULT_STP
    if value not in STP_MODES:
        raise errors.invalid("selfTradePreventionMode")
    return value


def parse_order(
    params: Params, symbol: str, prefix: str = "", side: str | None = None
) -> OrderRequest:
    """The order in `params`; `prefix` reads an order list's leg (`above`/`below`)."""

    def name(base: str) -> str:
        return prefix + base[0].upper() + base[1:] if prefix else base

    side = side or side_of(params)
    order_type = params.require(name("type"))
    if order_type not in ORDER_TYPES:
        raise errors.ApiError(400, -1116, "Invalid orderType.")
    if params.has(name("trailingDelta")):
        raise rejected("Trailing stop orders are not supported for this symbol.")
    if params.has(name("pegPriceType")) or params.has(name("pegOffsetValue")):
        raise rejected("Pegged orders are not supported for this symbol.")
    for field in _NEEDS[order_type]:
        source = field if prefix and field == "quantity" else name(field)
        if not params.has(source):
            raise errors.missing(source)
    for field in _REFUSES[order_type]:
        if not prefix and params.has(field):
            raise errors.not_required(field)
    tif = params.get(name("timeInForce"))
    if tif is not None and tif not in TIME_IN_FORCE:
        raise errors.ApiError(400, -1115, "Invalid timeInForce.")
    quantity = params.decimal("quantity")
    quote_qty = None if prefix else params.decimal("quoteOrderQty")
    if order_type == "MARKET":
        if quantity is None and quote_qty is None:
            raise errors.ApiError(
                400,
                -1102,
                "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
            )
        if quantity is not None and quote_qty is not None:
            raise errors.not_required("quoteOrderQty")
    iceberg = params.decimal(name("icebergQty"))
    if iceberg is not None:
        if order_type not in LIMIT_TYPES or (tif or "GTC") != "GTC":
            raise rejected("Unsupported order combination")
        if quantity is not None and iceberg >= quantity:
            raise rejected("IcebergQty exceeds QTY.")
    strategy_type = params.int_(name("strategyType"))
    if strategy_type is not None and strategy_type < 1_000_000:
        raise errors.invalid(name("strategyType"))
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=order_type,
        quantity=quantity,
        quote_qty=quote_qty,
        price=params.decimal(name("price")) if order_type in LIMIT_TYPES else None,
        time_in_force=tif if order_type != "MARKET" else None,
        client_order_id=client_id(params, name("clientOrderId") if prefix else "newClientOrderId"),
        stop_price=params.decimal(name("stopPrice")),
        iceberg_qty=iceberg,
        stp_mode=stp_mode(params),
        strategy_id=params.int_(name("strategyId")),
        strategy_type=strategy_type,
    )


def type_supported_message(order_type: str) -> str:
    """Binance's rejection text for an order type a symbol does not allow."""
    return f"{_TYPE_NAMES.get(order_type, order_type)} orders are not supported for this symbol."


def default_resp_type(order_type: str) -> str:
    """MARKET and LIMIT answer FULL by default, every other type ACK."""
    return "FULL" if order_type in ("MARKET", "LIMIT") else "ACK"


def is_decimal_zero(value: Decimal | None) -> bool:
    return value is None or value == 0
