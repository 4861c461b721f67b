"""Symbol names: the quote assets Binance lists, and a symbol's (base, quote) by its suffix.

The one list of known quotes, for when no exchangeInfo says it (a backtest of kline or trade
files, journal recovery before the rules are loaded).
"""

from __future__ import annotations

from typing import Final

# Longer names first where one could end another (none does today: FDUSD is not ...BUSD).
QUOTE_ASSETS: Final = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


def split_symbol(symbol: str) -> tuple[str, str] | None:
    """(base, quote) of `symbol` by a known quote suffix; None when no known quote ends it."""
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return None
