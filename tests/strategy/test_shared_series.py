"""Variants that use the same indicator share its series: computed once per bar, and every
variant's signals are exactly those it gives alone (real testnet klines)."""

from __future__ import annotations

from decimal import Decimal

from aggregation.models import Candle
from core.variants import VariantSettings
from strategy.engine import StrategyEngine
from strategy.models import SignalRaised

# An optimiser's batch: EMA 2 and 3 against SMA 5, 8 and 13, at two stop-losses; two on 5m.
GRID = [
    VariantSettings(f"t{n}", Decimal(stop), ema, sma)
    for n, (ema, sma, stop) in enumerate(
        (e, s, sl) for e in (2, 3) for s in (5, 8, 13) for sl in ("0.10", "0.15")
    )
] + [
    VariantSettings("h1", Decimal("0.10"), 2, 5, interval="5m"),
    VariantSettings("h2", Decimal("0.10"), 3, 5, interval="5m"),
]


def _signals(engine: StrategyEngine, candles: list[Candle]) -> list[SignalRaised]:
    return [s for c in candles for s in engine.on_candle(c)]


def test_each_indicator_of_a_stream_is_computed_once() -> None:
    engine = StrategyEngine(GRID, ["BTCUSDT"])
    assert engine.indicators("BTCUSDT") == {
        "1m": ["ema(2)", "sma(5)", "sma(8)", "sma(13)", "ema(3)"],  # 5 series for 12 variants
        "5m": ["ema(2)", "sma(5)", "ema(3)"],
    }


def test_a_variant_signals_in_a_batch_exactly_as_it_does_alone(
    testnet_candles: list[Candle],
) -> None:
    together = _signals(StrategyEngine(GRID, ["BTCUSDT"]), testnet_candles)
    alone = [
        s
        for variant in GRID
        for s in _signals(StrategyEngine([variant], ["BTCUSDT"]), testnet_candles)
    ]
    assert len({s.variant for s in together}) == len(GRID)  # every variant signalled
    key = lambda s: (s.variant, s.time_ms)  # noqa: E731
    assert sorted(together, key=key) == sorted(alone, key=key)
