"""Symbol filters, enforced from the very definitions exchangeInfo advertises.

The rules are read from `exchange_info.filters(spec)`, so what a client reads there is what
an order is checked against; a filter type this module cannot enforce fails at start.
Error texts are Binance's: `-1013 Filter failure: <FILTER>`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from simulator import errors
from simulator.config import SymbolSpec
from simulator.exchange_info import filters as advertised
from simulator.money import is_multiple
from simulator.orders import ZERO, OrderRequest

ENFORCED = frozenset(
    {
        "PRICE_FILTER",
        "LOT_SIZE",
        "ICEBERG_PARTS",
        "MARKET_LOT_SIZE",
        "PERCENT_PRICE_BY_SIDE",
        "NOTIONAL",
        "MAX_NUM_ORDERS",
        "MAX_NUM_ORDER_LISTS",
        "MAX_NUM_ALGO_ORDERS",
    }
)
# Listed as the testnet lists them, and never failed: the simulator refuses what they limit
# (trailingDelta: allowTrailingStop is false; order amends: amendAllowed is false).
VACUOUS = frozenset({"TRAILING_DELTA", "MAX_NUM_ORDER_AMENDS"})


@dataclass(frozen=True)
class OpenCounts:
    """What the account already has open on the symbol."""

    orders: int
    algo_orders: int
    order_lists: int


def _d(rule: dict[str, object], key: str) -> Decimal:
    return Decimal(str(rule[key]))


class SymbolFilters:
    """The filters of one symbol."""

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        self.rules = {str(f["filterType"]): f for f in advertised(spec)}
        unknown = set(self.rules) - ENFORCED - VACUOUS
        if unknown:
            raise ValueError(f"exchangeInfo advertises filters nobody enforces: {sorted(unknown)}")

    def avg_price_mins(self, name: str) -> int:
        return int(str(self.rules[name]["avgPriceMins"]))

    def check_price(self, price: Decimal) -> None:
        """PRICE_FILTER, for `price` and `stopPrice` alike."""
        rule = self.rules["PRICE_FILTER"]
        low, high, tick = _d(rule, "minPrice"), _d(rule, "maxPrice"), _d(rule, "tickSize")
        if (low and price < low) or (high and price > high) or price <= 0:
            raise errors.filter_failure("PRICE_FILTER")
        if tick and not is_multiple(price - low, tick):
            raise errors.filter_failure("PRICE_FILTER")

    def check_lot(self, qty: Decimal, name: str = "LOT_SIZE") -> None:
        rule = self.rules[name]
        low, high, step = _d(rule, "minQty"), _d(rule, "maxQty"), _d(rule, "stepSize")
        if qty <= 0 or qty < low or (high and qty > high):
            raise errors.filter_failure(name)
        if step and not is_multiple(qty - low, step):
            raise errors.filter_failure(name)

    def check(
        self,
        req: OrderRequest,
        qty: Decimal,
        avg_price: Decimal,
        counts: OpenCounts,
        new_orders: int = 1,
    ) -> None:
        """Every filter for one order of `qty` (MARKET: notional at `avg_price`)."""
        if req.price is not None:
            self.check_price(req.price)
        if req.stop_price is not None:
            self.check_price(req.stop_price)
        if req.type == "MARKET" and req.quantity is not None:
            self.check_lot(qty, "MARKET_LOT_SIZE")
        self.check_lot(qty)
        if req.iceberg_qty is not None:
            self.check_lot(req.iceberg_qty)
            parts = math.ceil(qty / req.iceberg_qty)
            if parts > int(str(self.rules["ICEBERG_PARTS"]["limit"])):
                raise errors.filter_failure("ICEBERG_PARTS")
        if req.price is not None:
            self._check_percent_price(req.side, req.price, avg_price)
        self._check_notional(req, qty, avg_price)
        self._check_counts(req, counts, new_orders)

    def _check_percent_price(self, side: str, price: Decimal, avg: Decimal) -> None:
        rule = self.rules["PERCENT_PRICE_BY_SIDE"]
        up, down = ("bidMultiplierUp", "bidMultiplierDown")
        if side == "SELL":
            up, down = ("askMultiplierUp", "askMultiplierDown")
        if price > avg * _d(rule, up) or price < avg * _d(rule, down):
            raise errors.filter_failure("PERCENT_PRICE_BY_SIDE")

    def _check_notional(self, req: OrderRequest, qty: Decimal, avg: Decimal) -> None:
        rule = self.rules["NOTIONAL"]
        market = req.type in ("MARKET", "STOP_LOSS", "TAKE_PROFIT")
        if req.type == "MARKET" and req.quote_qty is not None:
            notional = req.quote_qty
        elif market:
            price = req.stop_price if req.stop_price is not None else avg
            notional = qty * (avg if req.type == "MARKET" else price)
        else:
            notional = qty * (req.price or ZERO)
        low, high = _d(rule, "minNotional"), _d(rule, "maxNotional")
        if (not market or rule["applyMinToMarket"]) and notional < low:
            raise errors.filter_failure("NOTIONAL")
        if (not market or rule["applyMaxToMarket"]) and notional > high:
            raise errors.filter_failure("NOTIONAL")

    def _check_counts(self, req: OrderRequest, counts: OpenCounts, new_orders: int) -> None:
        if counts.orders + new_orders > int(str(self.rules["MAX_NUM_ORDERS"]["maxNumOrders"])):
            raise errors.filter_failure("MAX_NUM_ORDERS")
        if req.type in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"):
            limit = int(str(self.rules["MAX_NUM_ALGO_ORDERS"]["maxNumAlgoOrders"]))
            if counts.algo_orders + 1 > limit:
                raise errors.filter_failure("MAX_NUM_ALGO_ORDERS")

    def check_order_lists(self, counts: OpenCounts) -> None:
        limit = int(str(self.rules["MAX_NUM_ORDER_LISTS"]["maxNumOrderLists"]))
        if counts.order_lists + 1 > limit:
            raise errors.filter_failure("MAX_NUM_ORDER_LISTS")
