"""--param texts -> the search space, and the grid the strategy accepts (tables)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from optimize.params import ParamError, Setting, parse_space

VALID = [
    # (strategy, texts, {name: values})
    ("ema_sma", ["ema_period=3,5,8"], {"ema_period": (3, 5, 8)}),
    ("ema_sma", ["sma_period=10:40:10"], {"sma_period": (10, 20, 30, 40)}),
    ("ema_sma", ["sma_period=10:35:10"], {"sma_period": (10, 20, 30)}),  # HI not on a step
    ("ema_sma", ["ema_period=5:5:1"], {"ema_period": (5,)}),
    ("ema_sma", ["ema_period=3,3,5"], {"ema_period": (3, 5)}),  # repeats dropped
    ("ema_sma", ["stop_loss=0.10,0.15"], {"stop_loss": (Decimal("0.10"), Decimal("0.15"))}),
    ("ema_sma", ["stop_loss=0.05:0.15:0.05"],
     {"stop_loss": (Decimal("0.05"), Decimal("0.10"), Decimal("0.15"))}),
    ("rsi", ["oversold=20:30:5"], {"oversold": (20.0, 25.0, 30.0)}),
    ("bbands", ["k=1.5,2"], {"k": (1.5, 2.0)}),  # an alias of bollinger
]  # fmt: skip


@pytest.mark.parametrize(("strategy", "texts", "expected"), VALID)
def test_valid_params(
    strategy: str, texts: list[str], expected: dict[str, tuple[object, ...]]
) -> None:
    space = parse_space(strategy, texts)
    assert space.values == expected


INVALID = [
    # (strategy, texts, words the one-line error must hold)
    ("ema_sma", ["fast=3"], ["fast", "ema_period, sma_period, stop_loss"]),
    ("ema_sma", ["ema_period=0"], ["ema_period", "between 1 and 10000", "0"]),
    ("ema_sma", ["ema_period=3.5"], ["ema_period", "whole number"]),
    ("ema_sma", ["ema_period=3,x"], ["ema_period", "'x' is not a number"]),
    ("ema_sma", ["ema_period=3,,5"], ["ema_period", "empty value"]),
    ("ema_sma", ["ema_period=10:3:1"], ["ema_period", "LO is above HI"]),
    ("ema_sma", ["ema_period=1:10:0"], ["ema_period", "step must be above 0"]),
    ("ema_sma", ["ema_period=1:10"], ["ema_period", "LO:HI:STEP"]),
    ("ema_sma", ["ema_period=1:100000:1"], ["ema_period", "at most"]),
    ("ema_sma", ["stop_loss=0.10,1.5"], ["stop_loss", "between 0 and 1", "1.5"]),
    ("ema_sma", ["stop_loss=0"], ["stop_loss", "between 0 and 1"]),
    ("ema_sma", ["ema_period=3", "ema_period=5"], ["ema_period", "given twice"]),
    ("ema_sma", ["ema_period"], ["NAME=V1,V2"]),
    ("ema_sma", ["=3"], ["NAME=V1,V2"]),
    ("ema_sma", ["ema_period=nan"], ["ema_period", "not a number"]),
    ("ema_sma", [], ["at least one --param"]),
    ("turtle", ["x=1"], ["--strategy", "unknown strategy 'turtle'", "ema_sma"]),
    ("rsi", ["oversold=0.5"], ["oversold", "between 1.0 and 99.0"]),
]  # fmt: skip


@pytest.mark.parametrize(("strategy", "texts", "words"), INVALID)
def test_invalid_params_name_the_parameter(
    strategy: str, texts: list[str], words: list[str]
) -> None:
    with pytest.raises(ParamError) as caught:
        parse_space(strategy, texts)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_the_grid_skips_and_counts_what_the_strategy_refuses() -> None:
    space = parse_space(
        "ema_sma", ["ema_period=5,10,20", "sma_period=10,20", "stop_loss=0.10,0.15"]
    )
    kept, skipped = space.valid_grid()
    pairs = {(dict(s.params)["ema_period"], dict(s.params)["sma_period"]) for s in kept}
    assert pairs == {(5, 10), (5, 20), (10, 20)}  # EMA shorter than SMA only
    assert skipped == 3 * 2 * 2 - len(kept) == 6
    assert len(kept) == 6 and {s.stop_loss for s in kept} == {Decimal("0.10"), Decimal("0.15")}


def test_unsearched_parameters_keep_the_strategy_defaults() -> None:
    space = parse_space("rsi", ["period=7,14"])
    kept, _ = space.valid_grid()
    assert [dict(s.params) for s in kept] == [
        {"period": 7, "oversold": 30.0, "overbought": 70.0},
        {"period": 14, "oversold": 30.0, "overbought": 70.0},
    ]
    assert {s.stop_loss for s in kept} == {space.default_stop}


def test_a_setting_round_trips_through_its_json() -> None:
    setting = Setting((("ema_period", 3), ("sma_period", 20)), Decimal("0.15"))
    assert setting.as_dict() == {"ema_period": 3, "sma_period": 20, "stop_loss": "0.15"}
    assert Setting.of(setting.as_dict()) == setting
