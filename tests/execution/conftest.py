"""Shared pieces for execution tests: real rules from the recorded testnet exchangeInfo."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from core.clock import ManualClock
from execution.risk import RiskManager
from execution.rules import SymbolRules, parse_symbol_rules

T0 = 1_781_476_440_000


@pytest.fixture
def btc_rules(binance_data: Path) -> SymbolRules:
    path = binance_data / "testnet-btcusdt-2026-06-15" / "symbol_info.json"
    return parse_symbol_rules(json.loads(path.read_text()))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def make_risk(clock: ManualClock, **kw: object) -> RiskManager:
    args: dict[str, object] = {
        "max_position_quote": Decimal("10000"),
        "daily_loss_limit_quote": Decimal("500"),
        "max_orders_per_day": 100,
    }
    args.update(kw)
    return RiskManager(clock, **args)  # type: ignore[arg-type]
