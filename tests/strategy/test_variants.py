"""VARIANTS: strategy, parameters and interval per variant, old forms kept, one-line errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from config import SettingsError, load_settings
from core.variants import VariantSettings, parse_variants, split_entries
from strategy.engine import StrategyEngine


def variants(text: str, **overrides: object) -> list[VariantSettings]:
    return load_settings(env_file=None, variants=text, **overrides).variant_settings


def test_the_old_forms_still_work() -> None:
    a, b = variants("A:0.15,B:0.10")
    assert (a.name, a.stop_loss, a.strategy, a.interval) == ("A", Decimal("0.15"), "ema_sma", "1m")
    assert a.parameters() == {"ema_period": 5, "sma_period": 10}
    assert b.stop_loss == Decimal("0.10")
    (c,) = variants("C:0.05:3:7", ema_period=4, sma_period=8)
    assert c.parameters() == {"ema_period": 3, "sma_period": 7}
    (d,) = variants("D:0.05", ema_period=4, sma_period=8)
    assert d.parameters() == {"ema_period": 4, "sma_period": 8}


def test_strategies_with_positional_and_named_parameters_and_intervals() -> None:
    got = variants(
        "A:0.15:ema_sma(5,10)@1m, B:0.10:rsi(14,30,70)@5m, C:0.2:macd(fast=8)@1h,"
        " D:0.1:bollinger, E:0.1@15m, F:0.1:3:6@4h, G:0.1:RSI(7, overbought=80.5)@1d"
    )
    assert [(v.name, v.strategy, v.interval) for v in got] == [
        ("A", "ema_sma", "1m"),
        ("B", "rsi", "5m"),
        ("C", "macd", "1h"),
        ("D", "bollinger", "1m"),
        ("E", "ema_sma", "15m"),
        ("F", "ema_sma", "4h"),
        ("G", "rsi", "1d"),
    ]
    assert got[1].parameters() == {"period": 14, "oversold": 30.0, "overbought": 70.0}
    assert got[2].parameters() == {"fast": 8, "slow": 26, "signal": 9}
    assert got[3].parameters() == {"period": 20, "k": 2.0}
    assert got[5].parameters() == {"ema_period": 3, "sma_period": 6}
    assert got[6].parameters() == {"period": 7, "oversold": 30.0, "overbought": 80.5}
    assert got[1].spec == "rsi(period=14,oversold=30.0,overbought=70.0)@5m"
    # the spec reads back as the same variant
    assert parse_variants(f"B:0.10:{got[1].spec}", 5, 10) == [got[1]]


def test_commas_inside_parentheses_belong_to_the_strategy() -> None:
    assert split_entries("A:0.1:rsi(14,30,70)@5m,B:0.2 ,") == ["A:0.1:rsi(14,30,70)@5m", "B:0.2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A:0.15:foo(1)", "VARIANTS: strategy of A: unknown strategy 'foo'; known: ema_sma, rsi"),
        (
            "A:0.15:rsi(14,70,30)",
            "VARIANTS: strategy of A: rsi: need oversold < overbought, got 70.0 and 30.0",
        ),
        ("A:0.15:rsi(14,30,70,1)", "VARIANTS: strategy of A: rsi takes at most 3 parameters"),
        ("A:0.15:rsi(length=3)", "VARIANTS: strategy of A: rsi has no parameter 'length'"),
        ("A:0.15:rsi(14.5)", "VARIANTS: strategy of A: period must be a whole number"),
        ("A:0.15:rsi(x)", "VARIANTS: strategy of A: rsi: 'x' is not a number"),
        ("A:0.15:rsi(oversold=20,14)", "VARIANTS: strategy of A: rsi: a plain number after"),
        ("A:0.15:rsi(14,period=3)", "VARIANTS: strategy of A: rsi: period is given twice"),
        ("A:0.15:macd(26,12)", "VARIANTS: strategy of A: macd: need fast < slow"),
        ("A:0.15:rsi(14,0)", "VARIANTS: strategy of A: oversold must be between 1.0 and 99.0"),
        ("A:0.15:bollinger(20,0)", "VARIANTS: strategy of A: k must be between 0.1 and 10.0"),
        ("A:0.15:rsi(14@5m", "VARIANTS: unbalanced '('"),
        ("A:0.15@7m", "VARIANTS: interval of A: '7m' is not one of 1m, 3m, 5m, 15m"),
        ("A:0.15:ema_sma(10,5)", "VARIANTS: strategy of A: ema_sma: need ema_period < sma_period"),
        ("A:0.15:10:5", "VARIANTS: periods of A: need 1 <= ema < sma"),
        ("A", "VARIANTS: 'A' should be NAME:STOP_LOSS"),
        ("A:1.5:rsi", "VARIANTS: stop-loss of A must be between 0 and 1"),
        ("A:0.1:rsi,A:0.2:macd", "VARIANTS: variant A is given twice"),
    ],
)
def test_a_wrong_variant_is_one_line_naming_the_setting(text: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env_file=None, variants=text)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_the_engine_runs_each_variants_strategy_and_interval() -> None:
    settings = load_settings(
        env_file=None, variants="A:0.15,B:0.10,C:0.1:rsi@5m,D:0.1:rsi(14,30,70)@5m,E:0.1:rsi"
    )
    engine = StrategyEngine(settings.variant_settings, symbols=["BTCUSDT"])
    snap = engine.snapshot()
    assert snap["strategy"] == "ema_sma,rsi"
    per = snap["symbols"]["BTCUSDT"]
    assert (per["C"]["strategy"], per["C"]["interval"]) == ("rsi", "5m")
    assert per["E"]["interval"] == "1m" and per["E"]["rsi"] is None
    assert [v["spec"] for v in snap["variants"]][
        2
    ] == "rsi(period=14,oversold=30.0,overbought=70.0)@5m"
    # Same strategy, parameters and interval share one instance; another interval does not.
    groups = engine.add_symbol("BTCUSDT")
    assert sorted(sorted(s.variant for s in g.slots) for g in groups) == [
        ["A", "B"],
        ["C", "D"],
        ["E"],
    ]
