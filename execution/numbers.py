"""Decimals as people and Binance read them: plain digits, never an exponent; money as every
surface shows it (REST, /ws, the page, the notifications, the backtest report): quote amounts
to 8 places, percentages to 2."""

from __future__ import annotations

from decimal import Decimal

QUOTE_PLACES = Decimal("1e-8")
PCT_PLACES = Decimal("0.01")


def plain(value: Decimal) -> str:
    """`Decimal('1E+17')` -> '100000000000000000'; trailing zeros kept as given."""
    return format(value, "f")


def quote_text(value: Decimal) -> str:
    """A quote amount (P&L, equity, fees) as shown: 8 places."""
    return plain(value.quantize(QUOTE_PLACES))


def pct_text(value: Decimal) -> str:
    """A percentage (return, drawdown) as shown: 2 places."""
    return plain(value.quantize(PCT_PLACES))
