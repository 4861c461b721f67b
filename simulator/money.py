"""Decimal helpers: Binance's eight-decimal strings and step rounding."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

EIGHT = Decimal("0.00000001")


def fmt8(value: Decimal) -> str:
    """Binance's wire form of a decimal: fixed point, eight decimals ("0.00100000")."""
    return format(value.quantize(EIGHT, rounding=ROUND_DOWN), "f")


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of `step` (a step of 0 means no rounding)."""
    if step == 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step == 0 or (value % step) == 0


def parse_decimal(text: str) -> Decimal | None:
    """A finite decimal from a request parameter, or None if it is not one."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None
