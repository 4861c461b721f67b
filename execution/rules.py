"""A symbol's trading rules from exchangeInfo, and the checks an order passes before it leaves.

Parsed filters: PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL (current) and MIN_NOTIONAL
(older exchangeInfo). A MARKET order must satisfy LOT_SIZE and MARKET_LOT_SIZE (a zero step or
limit in MARKET_LOT_SIZE means "not applied", as on the testnet), and the notional minimum
when it applies to market orders (`applyMinToMarket` / `applyToMarket`), estimated with the
last price (the exchange uses its average price).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from core.errors import BadInputError

_ZERO = Decimal(0)


@functools.cache
def _power_of_ten(step: Decimal) -> Decimal | None:
    """`step` as a power of ten (0.00100000 -> 1E-3), or None when it is not one."""
    normal = step.normalize()
    return normal if normal.as_tuple().digits == (1,) else None


class RulesError(BadInputError):
    """exchangeInfo did not have what an order needs (bad or missing filter)."""


@dataclass(frozen=True, slots=True)
class SymbolRules:
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal = _ZERO
    min_price: Decimal = _ZERO
    max_price: Decimal = _ZERO
    step_size: Decimal = _ZERO
    min_qty: Decimal = _ZERO
    max_qty: Decimal = _ZERO
    market_step_size: Decimal = _ZERO
    market_min_qty: Decimal = _ZERO
    market_max_qty: Decimal = _ZERO
    min_notional: Decimal = _ZERO
    min_notional_applies_to_market: bool = True
    max_notional: Decimal = _ZERO
    max_notional_applies_to_market: bool = False
    base_commission_precision: int = 8
    quote_commission_precision: int = 8

    def round_qty(self, qty: Decimal) -> Decimal:
        """Round down to the LOT_SIZE step (and MARKET_LOT_SIZE's, when it has one)."""
        for step in (self.step_size, self.market_step_size):
            if step > 0:
                power = _power_of_ten(step)
                if power is not None:  # Binance's steps are: one quantize does it
                    qty = qty.quantize(power, rounding=ROUND_DOWN)
                else:
                    qty = (qty / step).to_integral_value(rounding=ROUND_DOWN) * step
        return qty.normalize() if qty else _ZERO

    def check_market(self, qty: Decimal, price: Decimal | None) -> str | None:
        """Why a MARKET order of `qty` at about `price` would be refused, or None."""
        if qty <= 0:
            return "quantity is zero after rounding to the LOT_SIZE step"
        if qty < self.min_qty:
            return f"LOT_SIZE: quantity {qty:f} below minQty {self.min_qty.normalize():f}"
        if self.max_qty > 0 and qty > self.max_qty:
            return f"LOT_SIZE: quantity {qty:f} above maxQty {self.max_qty.normalize():f}"
        if self.step_size > 0 and qty % self.step_size != 0:
            return f"LOT_SIZE: quantity {qty:f} not a multiple of stepSize {self.step_size:f}"
        if self.market_min_qty > 0 and qty < self.market_min_qty:
            return f"MARKET_LOT_SIZE: quantity {qty:f} below minQty {self.market_min_qty:f}"
        if self.market_max_qty > 0 and qty > self.market_max_qty:
            return f"MARKET_LOT_SIZE: quantity {qty:f} above maxQty {self.market_max_qty:f}"
        if price is None:
            return None
        notional = qty * price
        if self.min_notional_applies_to_market and notional < self.min_notional:
            return (
                f"NOTIONAL: {notional.normalize():f} below minNotional"
                f" {self.min_notional.normalize():f}"
            )
        if (
            self.max_notional_applies_to_market
            and self.max_notional > 0
            and notional > self.max_notional
        ):
            return f"NOTIONAL: {notional.normalize():f} above maxNotional {self.max_notional:f}"
        return None


def _dec(flt: dict[str, Any], key: str, symbol: str) -> Decimal:
    try:
        return Decimal(str(flt[key]))
    except (KeyError, InvalidOperation):
        raise RulesError(f"{symbol}: filter {flt.get('filterType')} has no valid {key}") from None


def parse_symbol_rules(info: dict[str, Any]) -> SymbolRules:
    """One entry of exchangeInfo `symbols` (or `get_symbol_info`) -> SymbolRules."""
    try:
        symbol, base, quote = str(info["symbol"]), str(info["baseAsset"]), str(info["quoteAsset"])
        filters = list(info.get("filters", []))
    except (KeyError, TypeError):
        raise RulesError("exchangeInfo symbol entry lacks symbol/baseAsset/quoteAsset") from None
    values: dict[str, Any] = {}
    for flt in filters:
        kind = flt.get("filterType")
        if kind == "PRICE_FILTER":
            values["tick_size"] = _dec(flt, "tickSize", symbol)
            values["min_price"] = _dec(flt, "minPrice", symbol)
            values["max_price"] = _dec(flt, "maxPrice", symbol)
        elif kind == "LOT_SIZE":
            values["step_size"] = _dec(flt, "stepSize", symbol)
            values["min_qty"] = _dec(flt, "minQty", symbol)
            values["max_qty"] = _dec(flt, "maxQty", symbol)
        elif kind == "MARKET_LOT_SIZE":
            values["market_step_size"] = _dec(flt, "stepSize", symbol)
            values["market_min_qty"] = _dec(flt, "minQty", symbol)
            values["market_max_qty"] = _dec(flt, "maxQty", symbol)
        elif kind == "NOTIONAL":
            values["min_notional"] = _dec(flt, "minNotional", symbol)
            values["min_notional_applies_to_market"] = bool(flt.get("applyMinToMarket", True))
            if "maxNotional" in flt:
                values["max_notional"] = _dec(flt, "maxNotional", symbol)
            values["max_notional_applies_to_market"] = bool(flt.get("applyMaxToMarket", False))
        elif kind == "MIN_NOTIONAL" and "min_notional" not in values:
            values["min_notional"] = _dec(flt, "minNotional", symbol)
            values["min_notional_applies_to_market"] = bool(flt.get("applyToMarket", True))
    if "step_size" not in values:
        raise RulesError(f"{symbol}: exchangeInfo has no LOT_SIZE filter")
    for key, field in (
        ("baseCommissionPrecision", "base_commission_precision"),
        ("quoteCommissionPrecision", "quote_commission_precision"),
    ):
        if isinstance(info.get(key), int):
            values[field] = info[key]
    return SymbolRules(symbol=symbol, base_asset=base, quote_asset=quote, **values)


def parse_exchange_info(info: dict[str, Any]) -> dict[str, SymbolRules]:
    """A whole exchangeInfo response -> rules by symbol."""
    symbols = info.get("symbols")
    if not isinstance(symbols, list):
        raise RulesError("exchangeInfo has no symbols list")
    return {rules.symbol: rules for rules in map(parse_symbol_rules, symbols)}
