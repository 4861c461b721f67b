"""The fill model: where a backtest's market orders fill (tables), and every fill of a run
on real testnet klines recomputed from the candles."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from backtest.fill_model import MEASURED, FillModel, FillModelError, fill_model
from backtest.run import BacktestConfig
from backtest.runner import run_backtest
from backtest.sources import identify, load_klines
from config import load_settings
from execution.models import OrderStatus
from strategy.models import Side, SignalReason
from tests.conftest import BINANCE_DATA

KLINES = BINANCE_DATA / "testnet-btcusdt-2026-06-15" / "klines_1m.json"


@pytest.mark.parametrize(
    ("model", "side", "reference", "expected"),
    [
        (FillModel(), Side.BUY, Decimal("100"), Decimal("100")),
        (FillModel(slippage_bps=Decimal("10")), Side.BUY, Decimal("100"), Decimal("100.1")),
        (FillModel(slippage_bps=Decimal("10")), Side.SELL, Decimal("100"), Decimal("99.9")),
        (FillModel(slippage_bps=Decimal("7.6")), Side.BUY, Decimal("65000.01"),
         Decimal("65000.01") * Decimal("1.00076")),
    ],
)  # fmt: skip
def test_price(model: FillModel, side: Side, reference: Decimal, expected: Decimal) -> None:
    assert model.price(side, reference) == expected


@pytest.mark.parametrize(
    ("at", "slippage", "expected"),
    [
        (None, None, MEASURED),
        ("close", None, FillModel(False, MEASURED.slippage_bps)),
        ("next-open", "0", FillModel(True, Decimal(0))),
        ("close", "12.5", FillModel(False, Decimal("12.5"))),
    ],
)
def test_options(at: str | None, slippage: str | None, expected: FillModel) -> None:
    assert fill_model(at, slippage) == expected


@pytest.mark.parametrize(
    ("at", "slippage", "words"),
    [
        ("open", None, "--fill 'open'"),
        (None, "x", "--slippage 'x' is not a number"),
        (None, "-1", "between 0 and 1000"),
        (None, "nan", "between 0 and 1000"),
    ],
)
def test_bad_options(at: str | None, slippage: str | None, words: str) -> None:
    with pytest.raises(FillModelError, match=words.replace("(", r"\(")):
        fill_model(at, slippage)


def test_every_fill_follows_the_model_on_real_klines() -> None:
    stops = {"A": Decimal("0.002"), "B": Decimal("0.15")}  # testnet wicks reach even 15 %
    settings = load_settings(None, variants="A:0.002,B:0.15")
    config = BacktestConfig(
        files=[KLINES], variants=settings.variant_settings, fee_rate=Decimal("0.001"),
        symbol="BTCUSDT", fill=MEASURED,
    )  # fmt: skip
    result = asyncio.run(run_backtest(settings, config))
    candles = load_klines(identify(KLINES, "BTCUSDT"))
    by_open = {c.open_time: c for c in candles}
    slip = MEASURED.slippage_bps / Decimal(10_000)
    fills = [r for r in result.journal if r.status is OrderStatus.FILLED]
    entry: dict[str, Decimal] = {}
    seen = {reason: 0 for reason in SignalReason}
    for fill in fills:
        seen[fill.reason] += 1
        assert fill.avg_price is not None
        against = 1 + slip if fill.side is Side.BUY else 1 - slip
        if fill.reason is SignalReason.SIGNAL:
            # Decided at a candle's close (its open time is `ref`), filled at the next open.
            nxt = by_open[fill.ref + 60_000]
            assert fill.time_ms == nxt.open_time
            assert fill.avg_price == nxt.open * against
        elif fill.reason is SignalReason.STOP_LOSS:
            candle = by_open[fill.time_ms]
            level = entry[fill.variant] * (1 - stops[fill.variant])
            assert fill.avg_price in (candle.open * against, level * against)
            assert candle.low <= level
        else:
            assert fill.reason is SignalReason.END_OF_DATA
            assert fill.avg_price == candles[-1].close  # a valuation: no slippage
        if fill.side is Side.BUY:
            entry[fill.variant] = fill.avg_price
    assert seen[SignalReason.SIGNAL] > 20 and seen[SignalReason.STOP_LOSS] > 0
    # An order decided at the last candle has no next open: it does not fill.
    assert all(f.ref < candles[-1].open_time for f in fills if f.reason is SignalReason.SIGNAL)
