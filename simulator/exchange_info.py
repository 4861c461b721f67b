"""GET /api/v3/exchangeInfo: symbols shaped like the testnet's (2026) exchangeInfo."""

from __future__ import annotations

from simulator.config import SymbolSpec
from simulator.money import fmt8

ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT", "TRANSFER"]


def rate_limits(weight_limit: int, orders_10s: int = 50) -> list[dict[str, object]]:
    return [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": weight_limit},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
         "limit": orders_10s},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
         "limit": 61000},
    ]  # fmt: skip


def filters(spec: SymbolSpec) -> list[dict[str, object]]:
    return [
        {"filterType": "PRICE_FILTER", "minPrice": fmt8(spec.tick_size),
         "maxPrice": "1000000.00000000", "tickSize": fmt8(spec.tick_size)},
        {"filterType": "LOT_SIZE", "minQty": fmt8(spec.step_size), "maxQty": fmt8(spec.max_qty),
         "stepSize": fmt8(spec.step_size)},
        {"filterType": "ICEBERG_PARTS", "limit": 100},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000",
         "maxQty": fmt8(spec.market_max_qty), "stepSize": "0.00000000"},
        {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10,
         "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10,
         "maxTrailingBelowDelta": 2000},
        {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "2",
         "bidMultiplierDown": "0.5", "askMultiplierUp": "2", "askMultiplierDown": "0.5",
         "avgPriceMins": 5},
        {"filterType": "NOTIONAL", "minNotional": fmt8(spec.min_notional),
         "applyMinToMarket": True, "maxNotional": "9000000.00000000",
         "applyMaxToMarket": False, "avgPriceMins": 5},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 20},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        {"filterType": "MAX_NUM_ORDER_AMENDS", "maxNumOrderAmends": 10},
    ]  # fmt: skip


def symbol_info(spec: SymbolSpec) -> dict[str, object]:
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": filters(spec),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": list(STP_MODES),
    }


def exchange_info(
    specs: list[SymbolSpec], server_time: int, weight_limit: int, orders_10s: int = 50
) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": rate_limits(weight_limit, orders_10s),
        "exchangeFilters": [],
        "symbols": [symbol_info(s) for s in specs],
    }
