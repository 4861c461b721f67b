"""Symbol names: base and quote asset from a known quote suffix, when exchangeInfo is absent."""

from __future__ import annotations

# Longest first, so that FDUSD wins over USD-like tails.
QUOTE_ASSETS = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


def split_symbol(symbol: str) -> tuple[str, str]:
    """('BTC', 'USDT') for 'BTCUSDT'; (symbol, '') when no known quote asset ends it."""
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""
