"""Decimals as people and Binance read them: plain digits, never an exponent."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal) -> str:
    """`Decimal('1E+17')` -> '100000000000000000'; trailing zeros kept as given."""
    return format(value, "f")
