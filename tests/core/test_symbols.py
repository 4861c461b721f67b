"""Base and quote of a symbol by its known quote suffix (one list for the whole project)."""

from __future__ import annotations

import pytest

from core.symbols import split_symbol


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("BTCUSDT", ("BTC", "USDT")),
        ("BTCFDUSD", ("BTC", "FDUSD")),
        ("ETHBTC", ("ETH", "BTC")),
        ("BNBTRY", ("BNB", "TRY")),
        ("USDT", None),  # a quote alone is not a pair
        ("FOOBAR", None),
    ],
)
def test_split_symbol(symbol: str, expected: tuple[str, str] | None) -> None:
    assert split_symbol(symbol) == expected
