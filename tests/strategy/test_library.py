"""RSI, MACD and Bollinger bands, and their strategies, against pandas on real testnet klines."""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest

from aggregation.models import Candle
from strategy.bollinger import BollingerReversion
from strategy.library import CATALOGUE, LIBRARY, build_strategy, spec_of
from strategy.macd import MacdCrossover
from strategy.oscillators import MACD, RSI, Bands
from strategy.rsi import RsiReversion
from tests.strategy import reference

Closes = list[float]


@pytest.fixture(scope="module")
def closes(testnet_candles: list[Candle]) -> Closes:
    return [float(c.close) for c in testnet_candles]


def _close(got: float, want: float, tol: float = 1e-9) -> bool:
    return (math.isnan(got) and math.isnan(want)) or abs(got - want) <= tol


@pytest.mark.parametrize("period", [2, 6, 14, 50])
def test_rsi_equals_pandas_wilder(closes: Closes, period: int) -> None:
    want = reference.rsi(pd.Series(closes), period).tolist()
    rsi = RSI(period)
    got = [rsi.update(x) for x in closes]
    assert math.isnan(got[period - 1]) and not math.isnan(got[period])
    assert all(_close(g, w) for g, w in zip(got, want, strict=True))
    if period <= 14:  # the data crosses both zones
        assert min(got[period:]) < 30 and max(got[period:]) > 70


def test_rsi_edges_flat_is_50_and_only_rising_is_100() -> None:
    flat, rising = RSI(3), RSI(3)
    for i in range(6):
        flat.update(100.0)
        rising.update(100.0 + i)
    assert (flat.value, rising.value) == (50.0, 100.0)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (3, 7, 4), (1, 2, 1)])
def test_macd_equals_pandas(closes: Closes, fast: int, slow: int, signal: int) -> None:
    want = {
        name: col.tolist()
        for name, col in reference.macd(pd.Series(closes), fast, slow, signal).items()
    }
    m = MACD(fast, slow, signal)
    for i, x in enumerate(closes):
        m.update(x)
        assert m.ready == (i >= slow + signal - 2)
        if m.ready:
            assert _close(m.line, want["line"][i])
            assert _close(m.signal, want["signal"][i])
            assert _close(m.hist, want["hist"][i])


@pytest.mark.parametrize(("period", "k"), [(20, 2.0), (5, 1.5), (2, 1.0), (60, 3.0)])
def test_bollinger_bands_equal_pandas(closes: Closes, period: int, k: float) -> None:
    want = {
        name: col.tolist() for name, col in reference.bands(pd.Series(closes), period, k).items()
    }
    b = Bands(period, k)
    for i, x in enumerate(closes):
        b.update(x)
        assert b.ready == (i >= period - 1)
        if not b.ready:
            continue
        window = closes[i - period + 1 : i + 1]
        exact = statistics.fmean(window), statistics.pstdev(window)  # exact sums
        assert abs(b.middle - exact[0]) <= 1e-9
        assert abs((b.upper - b.middle) - k * exact[1]) <= 1e-6
        assert abs((b.middle - b.lower) - k * exact[1]) <= 1e-6
        # pandas' own rolling std carries ~1e-5 of noise on a flat window of ~65,000s
        for name, got in (("middle", b.middle), ("upper", b.upper), ("lower", b.lower)):
            assert abs(got - want[name][i]) <= 1e-4, (i, name, got, want[name][i])


def test_bands_do_not_drift_over_many_values() -> None:
    b = Bands(20, 2.0)
    values = [65000.0 + ((i * 7919) % 1000) / 100 for i in range(20_003)]
    for x in values:
        b.update(x)
    last = values[-20:]
    mean = math.fsum(last) / 20
    sigma = math.sqrt(math.fsum((v - mean) ** 2 for v in last) / 20)
    assert abs(b.middle - mean) <= 1e-9 and abs(b.upper - (mean + 2 * sigma)) <= 1e-9


def _run(strategy_name: str, params: dict[str, float], candles: list[Candle]):
    strat = build_strategy(strategy_name, params)
    got = []
    for i, c in enumerate(candles):
        d = strat.on_candle(c, float(c.close))
        if d is not None:
            got.append((i, d.side.value, d.strength.value))
    return strat, got


def test_rsi_strategy_signals_equal_pandas(testnet_candles: list[Candle], closes: Closes) -> None:
    want = reference.rsi_signals(pd.Series(closes), 14, 30.0, 70.0)
    strat, got = _run("rsi", {"period": 14, "oversold": 30.0, "overbought": 70.0}, testnet_candles)
    assert isinstance(strat, RsiReversion)
    assert {s for _, s, _ in want} == {"BUY", "SELL"} and len(want) >= 10
    assert got == want
    assert strat.state()["ready"] is True


def test_macd_strategy_signals_equal_pandas(testnet_candles: list[Candle], closes: Closes) -> None:
    want = reference.macd_signals(pd.Series(closes), 12, 26, 9)
    strat, got = _run("macd", {"fast": 12, "slow": 26, "signal": 9}, testnet_candles)
    assert isinstance(strat, MacdCrossover)
    assert {s for _, s, _ in want} == {"BUY", "SELL"} and len(want) >= 10
    assert {st for _, _, st in want} == {"STRONG", "MODERATE"}
    assert got == want


def test_bollinger_strategy_signals_equal_pandas(
    testnet_candles: list[Candle], closes: Closes
) -> None:
    want = reference.bollinger_signals(pd.Series(closes), 20, 2.0)
    strat, got = _run("bollinger", {"period": 20, "k": 2.0}, testnet_candles)
    assert isinstance(strat, BollingerReversion)
    assert {s for _, s, _ in want} == {"BUY", "SELL"} and len(want) >= 10
    assert {st for _, _, st in want} == {"STRONG", "MODERATE"}
    assert got == want


def test_signals_carry_the_values_behind_them(testnet_candles: list[Candle]) -> None:
    closes = pd.Series([float(c.close) for c in testnet_candles])
    want = reference.rsi(closes, 14)
    strat = build_strategy("rsi", spec_of("rsi").defaults())
    for i, c in enumerate(testnet_candles):
        d = strat.on_candle(c, float(c.close))
        if d is not None:
            assert d.values is not None and abs(d.values["rsi"] - want[i]) <= 1e-9
            assert d.ema is None and d.sma is None


def test_no_signal_during_warm_up_on_any_strategy() -> None:
    from tests.strategy.conftest import candle

    for name, spec in CATALOGUE.items():
        strat = build_strategy(name, spec.defaults())
        # A fall then a rise, shorter than any warm-up: nothing may signal.
        closes = [100 - i for i in range(5)] + [95 + 3 * i for i in range(3)]
        for i, x in enumerate(closes):
            assert strat.on_candle(candle("BTCUSDT", i * 60_000, str(x)), float(x)) is None, name
        assert not strat.ready


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("rsi", {"period": 14, "oversold": 70.0, "overbought": 30.0}, "need 0 < oversold"),
        ("macd", {"fast": 26, "slow": 12, "signal": 9}, "need 1 <= fast < slow"),
        ("bollinger", {"period": 1, "k": 2.0}, "need period >= 2"),
    ],
)
def test_bad_parameters_are_refused(name: str, params: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_strategy(name, params)


def test_unknown_strategy_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'foo'; known: ema_sma, rsi, macd"):
        spec_of("foo")


def test_the_catalogue_and_the_classes_agree() -> None:
    """The settings' declarations (core.variants) and the classes (strategy.library)."""
    assert list(CATALOGUE) == list(LIBRARY)
    for name, spec in CATALOGUE.items():
        strat = build_strategy(name, spec.defaults())
        assert strat.name == name
        assert strat.parameters() == spec.defaults()
        # every pair the settings require ordered, the class refuses when reversed
        for small, big in spec.less_than:
            swapped = {**spec.defaults(), small: spec.defaults()[big], big: spec.defaults()[small]}
            with pytest.raises(ValueError):
                build_strategy(name, swapped)
