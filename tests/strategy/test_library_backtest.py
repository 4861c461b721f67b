"""Each strategy of the library through the backtest (the live StrategyEngine and executor) on
the recorded testnet klines: its signals equal pandas, on 1m and on a 5m interval, and it trades."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from backtest.report import build_report
from backtest.run import BacktestConfig
from backtest.runner import run_backtest
from config import load_settings
from strategy.models import SignalReason
from tests.strategy import reference


def _rsi(closes: pd.Series, args: tuple[Any, ...]) -> list[reference.Signal]:
    return reference.rsi_signals(closes, *args)


def _macd(closes: pd.Series, args: tuple[Any, ...]) -> list[reference.Signal]:
    return reference.macd_signals(closes, *args)


def _bollinger(closes: pd.Series, args: tuple[Any, ...]) -> list[reference.Signal]:
    return reference.bollinger_signals(closes, *args)


Oracle = Callable[[pd.Series, tuple[Any, ...]], list[reference.Signal]]
# strategy: (its 1m settings, its 5m settings, the pandas oracle, the oracle's 1m and 5m args)
CASES: dict[str, tuple[str, str, Oracle, tuple[Any, ...], tuple[Any, ...]]] = {
    "rsi": ("rsi(14,30,70)", "rsi(5,30,70)", _rsi, (14, 30.0, 70.0), (5, 30.0, 70.0)),
    "macd": ("macd(12,26,9)", "macd", _macd, (12, 26, 9), (12, 26, 9)),
    "bollinger": ("bollinger(20,2)", "bollinger(10,1.5)", _bollinger, (20, 2.0), (10, 1.5)),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_strategy_backtests_on_recorded_klines(
    name: str, binance_data: Path, tmp_path: Path
) -> None:
    rows: list[list[Any]] = json.loads(
        (binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json").read_text()
    )[:-1]  # the last row is the still-open candle
    path = tmp_path / "BTCUSDT-klines.json"
    path.write_text(json.dumps(rows))
    one, five, oracle, args_one, args_five = CASES[name]
    settings = load_settings(env_file=None, variants=f"A:0.15:{one},B:0.10:{five}@5m")
    config = BacktestConfig(
        files=[path],
        variants=settings.variant_settings,
        fee_rate=Decimal("0.001"),
        symbol="BTCUSDT",
        journal_path=tmp_path / "journal.jsonl",
    )
    result = await run_backtest(settings, config)

    closes = pd.Series([float(r[4]) for r in rows])
    want_a = [(int(rows[i][0]), side) for i, side, _ in oracle(closes, args_one)]
    frame = reference.resample(rows, 5)
    want_b = [
        (int(frame["open_time"][i]), side) for i, side, _ in oracle(frame["close"], args_five)
    ]
    for variant, want in (("A", want_a), ("B", want_b)):
        got = [
            (s.ref, s.side.value)
            for s in result.signals
            if s.variant == variant and s.reason is SignalReason.SIGNAL
        ]
        assert len(want) >= 5 and {side for _, side in want} == {"BUY", "SELL"}
        assert got == want, variant
    report = build_report(result)
    assert report["parameters"]["B"]["strategy"].startswith(f"{name}(")
    assert report["parameters"]["B"]["strategy"].endswith(")@5m")
    for variant in ("A", "B"):
        assert result.trades[variant]["BTCUSDT"], f"{name} {variant} made no round trip"
        assert report["variants"][variant]["BTCUSDT"]["summary"]["trades"] >= 1
