"""Symbol rules from real exchangeInfo payloads, client order ids, error classification."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from execution.ids import CLIENT_ID_RE, client_order_id
from execution.rules import RulesError, parse_exchange_info, parse_symbol_rules
from strategy.models import Side, SignalReason


def test_testnet_symbol_info_with_notional(binance_data: Path) -> None:
    info = json.loads(
        (binance_data / "testnet-btcusdt-2026-06-15" / "symbol_info.json").read_text()
    )
    rules = parse_symbol_rules(info)
    assert (rules.base_asset, rules.quote_asset) == ("BTC", "USDT")
    assert rules.tick_size == Decimal("0.01")
    assert rules.step_size == Decimal("0.00001") and rules.min_qty == Decimal("0.00001")
    assert rules.market_max_qty == Decimal("165.02219723") and rules.market_step_size == 0
    assert rules.min_notional == Decimal("5") and rules.min_notional_applies_to_market
    assert rules.round_qty(Decimal("0.0012345")) == Decimal("0.00123")
    assert rules.check_market(Decimal("0.001"), Decimal("65000")) is None
    why = rules.check_market(Decimal("0.00007"), Decimal("65000"))  # 4.55 quote
    assert why is not None and why.startswith("NOTIONAL")
    assert "minQty" in (rules.check_market(Decimal("0.000001"), Decimal("65000")) or "")
    assert "MARKET_LOT_SIZE" in (rules.check_market(Decimal("200"), Decimal("1")) or "")


def test_2021_exchange_info_with_min_notional(binance_data: Path) -> None:
    info = json.loads((binance_data / "rest" / "exchange_info_2021_min_notional.json").read_text())
    rules = parse_exchange_info(info)
    btc = rules["BTCUSDT"]
    assert btc.min_notional == Decimal("10") and btc.min_notional_applies_to_market
    assert btc.max_notional == 0
    why = btc.check_market(Decimal("0.0001"), Decimal("60000"))  # 6 < 10
    assert why is not None and "NOTIONAL" in why
    assert btc.check_market(Decimal("0.0002"), Decimal("60000")) is None


def test_missing_lot_size_is_a_clear_error() -> None:
    with pytest.raises(RulesError, match="LOT_SIZE"):
        parse_symbol_rules({"symbol": "X", "baseAsset": "X", "quoteAsset": "Y", "filters": []})


@pytest.mark.parametrize(
    ("variant", "symbol", "reason", "ref"),
    [
        ("A", "BTCUSDT", SignalReason.SIGNAL, 1_781_476_440_000),
        ("B", "ETHUSDT", SignalReason.STOP_LOSS, 1_400_921),
        ("LONGNAME", "ABCDEFGHIJKLMNOPQRST", SignalReason.MANUAL, 10**15),
    ],
)
def test_client_order_ids_are_deterministic_and_valid(
    variant: str, symbol: str, reason: SignalReason, ref: int
) -> None:
    a = client_order_id(variant, symbol, reason, ref, Side.BUY)
    assert a == client_order_id(variant, symbol, reason, ref, Side.BUY)
    assert CLIENT_ID_RE.match(a)
    others = {
        client_order_id(variant, symbol, reason, ref, Side.SELL),
        client_order_id(variant, symbol, reason, ref + 1, Side.BUY),
        client_order_id("Z", symbol, reason, ref, Side.BUY),
    }
    assert a not in others


def test_signal_and_stop_refs_never_share_an_id() -> None:
    assert client_order_id("A", "BTCUSDT", SignalReason.SIGNAL, 5, Side.SELL) != client_order_id(
        "A", "BTCUSDT", SignalReason.STOP_LOSS, 5, Side.SELL
    )
