"""A variant on a higher interval trades on candles rolled up from the 1-minute ones."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pandas as pd

from aggregation.models import Candle, CandleSource
from core.variants import VariantSettings
from strategy.engine import StrategyEngine
from strategy.models import SignalReason
from tests.strategy import reference
from tests.strategy.conftest import candle

T0 = 1_781_476_500_000  # a 5-minute boundary (and a minute one)
FIVE = 300_000


def _engine(interval: str = "5m") -> StrategyEngine:
    return StrategyEngine([VariantSettings("A", Decimal("0.1"), 2, 3, interval=interval)])


def _minutes(closes: list[str], start: int = T0) -> list[Candle]:
    return [candle("BTCUSDT", start + i * 60_000, c) for i, c in enumerate(closes)]


def test_five_minute_variant_decides_on_the_interval_close_only() -> None:
    engine = _engine()
    # 5m closes: 100, 100, 100 (warm), then 110: EMA(2) crosses above SMA(3).
    minutes = _minutes(["100"] * 15 + ["105", "106", "107", "108", "110"])
    signals = [s for m in minutes for s in engine.on_candle(m)]
    assert len(signals) == 1
    s = signals[0]
    assert (s.variant, s.side.value, s.reason) == ("A", "BUY", SignalReason.SIGNAL)
    assert s.ref == T0 + 3 * FIVE  # the 5-minute candle's open time
    assert s.time_ms == T0 + 4 * FIVE - 1  # its close time, at its last minute's close
    assert s.price == Decimal("110")


def test_an_incomplete_minute_or_a_start_mid_interval_makes_the_interval_skip() -> None:
    engine = _engine()
    # Started at minute 2 of an interval: that interval is incomplete, the strategy skips it.
    for m in _minutes(["1"] * 3, start=T0 + 2 * 60_000):
        engine.on_candle(m)
    assert engine.snapshot()["symbols"]["BTCUSDT"]["A"]["ema"] is None
    minutes = _minutes(["100"] * 5, start=T0 + FIVE)
    minutes[2] = replace(minutes[2], complete=False)
    for m in minutes:
        engine.on_candle(m)
    assert engine.snapshot()["symbols"]["BTCUSDT"]["A"]["ema"] is None
    for m in _minutes(["100"] * 5, start=T0 + 2 * FIVE):
        engine.on_candle(m)
    assert engine.snapshot()["symbols"]["BTCUSDT"]["A"]["ema"] == 100.0


def test_warm_up_minutes_roll_up_into_warm_up_candles_that_never_signal() -> None:
    engine = _engine()
    warm = [replace(m, source=CandleSource.WARMUP) for m in _minutes(["100"] * 15 + ["200"] * 5)]
    assert [s for m in warm for s in engine.on_candle(m)] == []
    assert engine.snapshot()["symbols"]["BTCUSDT"]["A"]["ready"] is True


def test_signals_on_rolled_up_testnet_klines_equal_pandas_resampling(
    testnet_candles: list[Candle],
) -> None:
    rows = [c.to_kline_row() for c in testnet_candles]
    for minutes, interval in ((3, "3m"), (5, "5m"), (15, "15m")):
        frame = reference.resample(rows, minutes)
        want = [
            (int(frame["open_time"][i]), side)
            for i, side, _ in reference.ema_sma_signals(frame["close"], 2, 3)
        ]
        engine = _engine(interval)
        got = [(s.ref, s.side.value) for c in testnet_candles for s in engine.on_candle(c)]
        assert len(want) >= 3, interval
        assert got == want, interval
        assert pd.Series([t for t, _ in got]).mod(minutes * 60_000).eq(0).all()
