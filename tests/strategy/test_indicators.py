"""Incremental SMA/EMA and the crossover rule against pandas on real testnet klines."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from aggregation.models import Candle
from strategy.crossover import Crossover
from strategy.indicators import EMA, SMA
from strategy.models import Side, Strength


@pytest.mark.parametrize("period", [1, 5, 10, 50])
def test_sma_and_ema_equal_pandas_on_testnet_klines(
    testnet_candles: list[Candle], period: int
) -> None:
    closes = [float(c.close) for c in testnet_candles]
    assert len(closes) == 499
    series = pd.Series(closes)
    want_sma = series.rolling(period).mean().tolist()
    want_ema = series.ewm(span=period, adjust=False).mean().tolist()
    sma, ema = SMA(period), EMA(period)
    for i, x in enumerate(closes):
        got_sma, got_ema = sma.update(x), ema.update(x)
        if i < period - 1:
            assert math.isnan(got_sma) and not sma.ready
        else:
            assert sma.ready
            assert abs(got_sma - want_sma[i]) <= 1e-9
        assert abs(got_ema - want_ema[i]) <= 1e-9


def test_sma_running_sum_does_not_drift_over_many_values() -> None:
    sma = SMA(10)
    values = [65000.0 + ((i * 7919) % 1000) / 100 for i in range(20_000)]
    for x in values:
        sma.update(x)
    assert abs(sma.value - math.fsum(values[-10:]) / 10) <= 1e-9


def test_crossover_signals_equal_a_pandas_reference(testnet_candles: list[Candle]) -> None:
    closes = pd.Series([float(c.close) for c in testnet_candles])
    ema = closes.ewm(span=5, adjust=False).mean()
    sma = closes.rolling(10).mean()
    pe, ps = ema.shift(1), sma.shift(1)
    buys = (pe <= ps) & (ema > sma)
    sells = (pe >= ps) & (ema < sma)
    strong_buy = (closes > ema) & (closes > sma)
    strong_sell = (closes < ema) & (closes < sma)
    want = []
    for i in range(len(closes)):
        if buys[i]:
            want.append((i, Side.BUY, Strength.STRONG if strong_buy[i] else Strength.MODERATE))
        elif sells[i]:
            want.append((i, Side.SELL, Strength.STRONG if strong_sell[i] else Strength.MODERATE))

    strat = Crossover(5, 10)
    got = []
    for i, c in enumerate(testnet_candles):
        d = strat.on_candle(c, float(c.close))
        if d is not None:
            got.append((i, d.side, d.strength))
            assert d.ema is not None and abs(d.ema - ema[i]) <= 1e-9
            assert d.sma is not None and abs(d.sma - sma[i]) <= 1e-9
    assert len(want) > 10  # the recorded data has crossovers of both kinds
    assert {s for _, s, _ in want} == {Side.BUY, Side.SELL}
    assert got == want


def test_crossover_rejects_bad_periods() -> None:
    with pytest.raises(ValueError):
        Crossover(10, 5)
