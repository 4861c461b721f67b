"""Indicator lines from the server: the values after each bar equal an independent pandas
computation on real testnet klines, and the values each signal of the live engine carries,
for every strategy of the library."""

from __future__ import annotations

import pandas as pd
import pytest

from aggregation.models import Candle
from core.variants import parse_variants
from strategy.engine import StrategyEngine
from strategy.series import indicator_series


def test_crossover_lines_equal_pandas_on_real_klines(testnet_candles: list[Candle]) -> None:
    points = indicator_series("ema_sma", {"ema_period": 5, "sma_period": 10}, "1m", testnet_candles)
    closes = pd.Series([float(c.close) for c in testnet_candles])
    ema = closes.ewm(span=5, adjust=False).mean()
    sma = closes.rolling(10).mean()
    assert [t for t, _ in points] == [c.open_time for c in testnet_candles]
    assert [v["ema"] for _, v in points[:9]] == [None] * 9  # not ready to decide: no line
    assert [v["ema"] for _, v in points[9:]] == pytest.approx(list(ema[9:]), rel=1e-12)
    assert [v["sma"] for _, v in points[9:]] == pytest.approx(list(sma[9:]), rel=1e-9)


def test_five_minute_lines_are_on_the_rolled_up_bars(testnet_candles: list[Candle]) -> None:
    points = indicator_series("ema_sma", {"ema_period": 2, "sma_period": 3}, "5m",
                              testnet_candles)  # fmt: skip
    assert points and all(t % 300_000 == 0 for t, _ in points)
    frame = pd.DataFrame(
        {"close": [float(c.close) for c in testnet_candles]},
        index=pd.to_datetime([c.open_time for c in testnet_candles], unit="ms"),
    )
    closes = frame["close"].resample("5min").last()
    counts = frame["close"].resample("5min").count()
    whole = closes[counts == 5]  # an interval with a missing minute is incomplete: skipped
    assert [int(t.value // 1_000_000) for t in whole.index] == [t for t, _ in points]
    sma = whole.rolling(3).mean()
    assert [v["sma"] for _, v in points[2:]] == pytest.approx(list(sma[2:]), rel=1e-9)


@pytest.mark.parametrize(
    "spec",
    ["ema_sma(ema_period=3,sma_period=8)", "rsi(period=6,oversold=45,overbought=55)",
     "macd(fast=3,slow=7,signal=3)", "bollinger(period=8,k=1.0)"],
)  # fmt: skip
def test_every_signal_carries_the_values_of_its_bar(
    spec: str, testnet_candles: list[Candle]
) -> None:
    variant = parse_variants(f"A:0.1:{spec}", 5, 10)[0]
    engine = StrategyEngine([variant])
    signals = [s for c in testnet_candles for s in engine.on_candle(c)]
    assert signals, spec
    points = dict(
        indicator_series(variant.strategy, variant.parameters(), variant.interval, testnet_candles)
    )
    for signal in signals:
        values = points[signal.ref]  # the bar the signal was decided on
        carried: dict[str, float | None] = {"ema": signal.ema, "sma": signal.sma}
        if signal.indicators:
            carried = dict(signal.indicators)
        for name, value in carried.items():
            assert values[name] == pytest.approx(value, rel=1e-12), (spec, name)
