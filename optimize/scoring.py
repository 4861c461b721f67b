"""What "best" means: a trial's score under an objective, and the deflated Sharpe ratio.

Pure functions. A score is higher-is-better; a trial with fewer round trips than
`--min-trades`, or without the figure (a Calmar ratio with no drawdown, a profit factor with
no losing trip), scores minus infinity: it never wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist, pvariance
from typing import Any

OBJECTIVES = ("return", "sharpe", "sortino", "calmar", "profit_factor")
_FIELD = {"return": "return_pct"}  # objective -> its metric, where the names differ
WORST = -math.inf
EULER_GAMMA = 0.5772156649015329


def metric_of(objective: str) -> str:
    """The trial metric an objective reads (`return` is `return_pct`)."""
    return _FIELD.get(objective, objective)


def score(metrics: dict[str, Any], objective: str, min_trades: int = 0) -> float:
    """The trial's figure for `objective` (higher is better), WORST when it cannot win."""
    if metrics["trades"] < min_trades:
        return WORST
    value = metrics[metric_of(objective)]
    if value is None:
        return WORST
    number = float(value)
    return number if math.isfinite(number) else WORST


def drawdown(metrics: dict[str, Any]) -> float:
    """The max drawdown in percent: NSGA-II's second objective (lower is better)."""
    return float(metrics["max_drawdown_pct"])


def expected_max_sharpe(trial_sharpes: Sequence[float]) -> float:
    """The Sharpe ratio the best of these trials would show by luck alone (Bailey and
    López de Prado, 2014: the expected maximum of N normal draws with their variance)."""
    n = len(trial_sharpes)
    if n < 2:
        return 0.0
    spread = math.sqrt(pvariance(trial_sharpes))
    normal = NormalDist()
    return spread * (
        (1 - EULER_GAMMA) * normal.inv_cdf(1 - 1 / n)
        + EULER_GAMMA * normal.inv_cdf(1 - 1 / (n * math.e))
    )


def deflated_sharpe(
    sharpe: float, skew: float, kurtosis: float, count: int, trial_sharpes: Sequence[float]
) -> float | None:
    """The probability (0..1) that the winner's true Sharpe ratio is above what the best of
    `trial_sharpes` would show by luck, given the skewness and kurtosis of its `count`
    returns. Sharpe ratios here are per period (not annualised). None under 2 returns."""
    if count < 2:
        return None
    threshold = expected_max_sharpe(trial_sharpes)
    spread = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe * sharpe
    if spread <= 0:
        return None
    z = (sharpe - threshold) * math.sqrt(count - 1) / math.sqrt(spread)
    return NormalDist().cdf(z)
