"""Scores under each objective, and the deflated Sharpe ratio's behaviour."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from optimize.scoring import WORST, deflated_sharpe, expected_max_sharpe, score


def _metrics(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "return_pct": "4.20", "max_drawdown_pct": "3.10", "trades": 12, "win_rate": 0.5,
        "sharpe": 1.5, "sortino": 2.5, "calmar": 0.8, "profit_factor": 1.4,
        "expectancy": "0.35", "fees": "1.2",
    }  # fmt: skip
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("objective", "over", "min_trades", "expected"),
    [
        ("return", {}, 0, 4.2),
        ("sharpe", {}, 0, 1.5),
        ("sortino", {}, 0, 2.5),
        ("calmar", {}, 0, 0.8),
        ("profit_factor", {}, 0, 1.4),
        ("return", {}, 12, 4.2),  # exactly enough trades
        ("return", {}, 13, WORST),  # too few
        ("calmar", {"calmar": None}, 0, WORST),  # no figure: cannot win
        ("profit_factor", {"profit_factor": None}, 0, WORST),
        ("return", {"return_pct": "-7.5"}, 0, -7.5),
    ],
)
def test_score(objective: str, over: dict[str, object], min_trades: int, expected: float) -> None:
    assert score(_metrics(**over), objective, min_trades) == expected


def test_luck_grows_with_the_number_of_trials() -> None:
    spread = [0.01 * n for n in range(-5, 6)]
    few, many = expected_max_sharpe(spread[:3]), expected_max_sharpe(spread * 10)
    assert expected_max_sharpe([0.3]) == 0.0
    assert 0 < few < many


def test_one_trial_is_the_probabilistic_sharpe_ratio() -> None:
    # With one trial nothing is deflated: P(true SR > 0) for normal returns (skew 0, kurt 3).
    sr, count = 0.05, 400
    expected = NormalDist().cdf(sr * math.sqrt(count - 1) / math.sqrt(1 + sr * sr / 2))
    assert deflated_sharpe(sr, 0.0, 3.0, count, [sr]) == pytest.approx(expected)


def test_more_trials_deflate_the_same_winner() -> None:
    trials = [0.002 * n for n in range(-10, 11)]
    alone = deflated_sharpe(0.02, 0.0, 3.0, 1000, trials[:3])
    crowd = deflated_sharpe(0.02, 0.0, 3.0, 1000, trials * 5)
    assert alone is not None and crowd is not None and 0 <= crowd < alone <= 1


def test_fat_tails_and_negative_skew_deflate_further() -> None:
    trials = [0.001 * n for n in range(20)]
    normal = deflated_sharpe(0.03, 0.0, 3.0, 500, trials)
    fat = deflated_sharpe(0.03, -1.0, 12.0, 500, trials)
    assert normal is not None and fat is not None and fat < normal
    assert deflated_sharpe(0.03, 0.0, 3.0, 1, trials) is None  # one return says nothing
