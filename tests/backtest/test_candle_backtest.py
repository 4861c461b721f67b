"""The recorded testnet klines through the live classes: signals equal an independent pandas
computation of the crossover rule; stops on the testnet's wicks follow the fill model."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from backtest.report import build_report
from backtest.run import BacktestConfig, BacktestResult
from backtest.runner import run_backtest
from config import load_settings
from strategy.models import SignalReason


def _closed_rows(binance_data: Path) -> list[list[Any]]:
    path = binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json"
    rows: list[list[Any]] = json.loads(path.read_text())
    return rows[:-1]  # the last row is the still-open candle


async def _run(path: Path, tmp_path: Path) -> BacktestResult:
    settings = load_settings(env_file=None)
    config = BacktestConfig(
        files=[path],
        variants=settings.variant_settings,
        fee_rate=Decimal("0.001"),
        symbol="BTCUSDT",
        journal_path=tmp_path / "journal.jsonl",
    )
    return await run_backtest(settings, config)


def _pandas_crossovers(rows: list[list[Any]]) -> list[tuple[int, str]]:
    frame = pd.DataFrame({"open_time": [r[0] for r in rows], "close": [float(r[4]) for r in rows]})
    ema = frame["close"].ewm(span=5, adjust=False).mean()
    sma = frame["close"].rolling(10).mean()
    up = (ema.shift(1) <= sma.shift(1)) & (ema > sma)
    down = (ema.shift(1) >= sma.shift(1)) & (ema < sma)
    out = [(int(t), "BUY") for t in frame["open_time"][up]]
    out += [(int(t), "SELL") for t in frame["open_time"][down]]
    return sorted(out)


async def test_signals_equal_pandas(binance_data: Path, tmp_path: Path) -> None:
    rows = _closed_rows(binance_data)
    path = tmp_path / "klines.json"
    path.write_text(json.dumps(rows))
    result = await _run(path, tmp_path)
    assert result.candles == 499
    expected = _pandas_crossovers(rows)
    assert len(expected) > 20
    for variant in ("A", "B"):
        got = sorted(
            (s.ref, s.side.value)
            for s in result.signals
            if s.variant == variant and s.reason is SignalReason.SIGNAL
        )
        assert got == expected


def _check_stops(rows: list[list[Any]], result: BacktestResult, stop_loss: dict[str, Decimal]):
    """Every candle after an entry is checked against the stop, as the fill model says."""
    by_open = {r[0]: i for i, r in enumerate(rows)}
    stops = 0
    for variant, per_symbol in result.trades.items():
        for trade in per_symbol["BTCUSDT"]:
            level = trade.entry_price * (1 - stop_loss[variant])
            first = by_open[trade.entry_time - 59_999] + 1  # from the candle after the entry
            hit = None
            for i in range(first, len(rows)):
                if Decimal(rows[i][3]) <= level:
                    hit = i
                    break
                if rows[i][6] >= trade.exit_time:
                    break  # the position closed on a signal first
            if hit is None:
                assert trade.exit_reason in ("signal", "end_of_data")
                continue
            stops += 1
            opened = Decimal(rows[hit][1])
            assert trade.exit_reason == "stop_loss"
            assert trade.exit_time == rows[hit][0]
            assert trade.exit_price == (opened if opened <= level else level)
    return stops


async def test_stops_on_testnet_wicks_follow_the_fill_model(binance_data: Path, tmp_path: Path):
    rows = _closed_rows(binance_data)
    path = tmp_path / "klines.json"
    path.write_text(json.dumps(rows))
    result = await _run(path, tmp_path)
    stop_loss = {"A": Decimal("0.15"), "B": Decimal("0.10")}
    assert _check_stops(rows, result, stop_loss) == 2  # the wick to 54537.98, for A and for B
    fills = {
        v: [t for t in per["BTCUSDT"] if t.exit_reason == "stop_loss"]
        for v, per in result.trades.items()
    }
    for variant in ("A", "B"):
        (trade,) = fills[variant]
        assert trade.exit_price == trade.entry_price * (1 - stop_loss[variant])  # the stop level
    report = build_report(result)
    summary = report["variants"]["A"]["BTCUSDT"]["summary"]
    assert summary["trades"] == len(result.trades["A"]["BTCUSDT"])
    assert Decimal(summary["pnl"]) == sum(t.pnl for t in result.trades["A"]["BTCUSDT"])


@pytest.mark.parametrize("gap_open", ["54600.00000000", "58000.00000000"])
async def test_stop_fills_at_the_open_when_the_candle_opens_below(
    binance_data: Path, tmp_path: Path, gap_open: str
) -> None:
    """The wick candle edited to open below the stop (A's, B's or both): fill at that open."""
    rows = _closed_rows(binance_data)
    baseline = await _run(_write(tmp_path / "base.json", rows), tmp_path)
    (stop_trade,) = [t for t in baseline.trades["B"]["BTCUSDT"] if t.exit_reason == "stop_loss"]
    index = next(i for i, r in enumerate(rows) if r[0] == stop_trade.exit_time)
    rows[index][1] = gap_open
    result = await _run(_write(tmp_path / "gap.json", rows), tmp_path)
    stop_loss = {"A": Decimal("0.15"), "B": Decimal("0.10")}
    assert _check_stops(rows, result, stop_loss) == 2
    opened = Decimal(gap_open)
    for variant, stop in stop_loss.items():
        (trade,) = [t for t in result.trades[variant]["BTCUSDT"] if t.exit_reason == "stop_loss"]
        level = trade.entry_price * (1 - stop)
        assert trade.exit_price == (opened if opened <= level else level)
    b_trade = next(t for t in result.trades["B"]["BTCUSDT"] if t.exit_reason == "stop_loss")
    assert b_trade.exit_price == opened  # B's stop (59277.6) is above both opens


def _write(path: Path, rows: list[list[Any]]) -> Path:
    path.write_text(json.dumps(rows))
    return path
