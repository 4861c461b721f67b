"""Request parameters: parsed once, validated with Binance's error codes."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qsl

from simulator import errors
from simulator.money import parse_decimal

_INT = re.compile(r"^-?[0-9]{1,20}$")
# Binance's legal range for a decimal parameter: no exponent, no sign, no leading dot.
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
MAX_DECIMALS = 8  # the assets' precision here (baseAssetPrecision / quotePrecision)


class Params:
    """The query string and the form body of one request, merged (the query string wins)."""

    def __init__(self, query: str, body: str) -> None:
        self.query = query
        self.body = body
        self._values: dict[str, str] = {}
        for raw in (body, query):
            for key, value in parse_qsl(raw, keep_blank_values=True):
                self._values[key] = value

    def mapping(self) -> dict[str, str]:
        """Every parameter, query string and body merged (the query string wins)."""
        return dict(self._values)

    def get(self, name: str) -> str | None:
        value = self._values.get(name)
        return value if value not in (None, "") else None

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise errors.missing(name)
        return value

    def int_(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None:
            return default
        if not _INT.match(value):
            raise errors.illegal(name)
        return int(value)

    def limit(self, default: int, maximum: int) -> int:
        """`limit` (default, clamped to the maximum); 0 or less is rejected."""
        value = self.int_("limit", default)
        assert value is not None
        if value <= 0:
            raise errors.illegal("limit")
        return min(value, maximum)

    def decimal(self, name: str) -> Decimal | None:
        """`1e-3`, `.001`, `+1` and python-binance's `9e-05` are -1100 as on Binance; more
        decimals than the asset's precision (trailing zeros aside) are -1111."""
        value = self.get(name)
        if value is None:
            return None
        if not _DECIMAL.fullmatch(value):
            raise errors.illegal(name)
        parsed = parse_decimal(value)
        if parsed is None:
            raise errors.illegal(name)
        exponent = parsed.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
            raise errors.too_precise()
        return parsed
