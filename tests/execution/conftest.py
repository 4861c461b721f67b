"""Shared pieces for execution tests: real rules from the recorded testnet exchangeInfo."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from core.clock import ManualClock
from execution.models import OrderRecord, OrderStatus
from execution.risk import RiskManager
from execution.rules import SymbolRules, parse_symbol_rules
from strategy.models import Side, SignalReason

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


def order_record(
    cid: str,
    status: str = "intent",
    *,
    variant: str = "A",
    symbol: str = "BTCUSDT",
    fill_time: int | None = None,
) -> OrderRecord:
    """A minimal order record for journal tests (filled ones carry a small fill)."""
    filled = status == "filled"
    return OrderRecord(
        status=OrderStatus(status), client_order_id=cid, variant=variant, symbol=symbol,
        side=Side.BUY, quantity=Decimal("0.001"), reason=SignalReason.SIGNAL, mode="paper",
        signal_time_ms=T0, time_ms=T0, exchange_order_id=1 if filled else None,
        executed_qty=Decimal("0.001") if filled else Decimal(0),
        avg_price=Decimal("60000") if filled else None,
        quote_qty=Decimal("60") if filled else Decimal(0), fill_time_ms=fill_time,
    )  # fmt: skip
