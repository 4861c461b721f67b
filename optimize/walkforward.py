"""Walk-forward: optimise in-sample, then score the winner out-of-sample after a gap.

The candles are cut into K rolling windows. With n candles, each out-of-sample part holds
n // (K + 3) candles and each in-sample part three times that; window i starts i out-of-sample
parts in, so the out-of-sample parts follow each other without overlapping:

    window 0: [ in-sample ×3 ][gap| out ]
    window 1:       [ in-sample ×3 ][gap| out ]

The gap (candles skipped at the start of each out-of-sample part) keeps the winner from
being scored on candles its in-sample indicators saw. Out-of-sample runs start flat, with
fresh indicators, as a new live variant would.

Walk-forward efficiency (WFE) is the out-of-sample return per minute over the in-sample one
(Pardo): 1 means the winner kept its in-sample pace; None when the in-sample return is not
positive. The deflated Sharpe ratio says how likely the winner's Sharpe ratio beats the best
that its window's trials would show by luck (optimize.scoring).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aggregation.models import Candle
from core.errors import BadInputError
from optimize.scoring import deflated_sharpe
from optimize.search import Outcome, Plan
from optimize.trials import TrialResult

MIN_WINDOW = 60  # candles an out-of-sample part keeps after its gap, at least


class WalkForwardError(BadInputError):
    """Too few candles for the windows asked for."""


@dataclass(frozen=True, slots=True)
class Bounds:
    """Candle indexes of one window: [is_start, is_end) in-sample, [oos_start, oos_end) out."""

    is_start: int
    is_end: int
    oos_start: int
    oos_end: int


def split(count: int, windows: int, gap: int) -> list[Bounds]:
    """The K windows over `count` candles (WalkForwardError when a part would be too short)."""
    if windows < 1:
        raise WalkForwardError("--walk-forward needs at least 1 window")
    part = count // (windows + 3)
    if part - gap < MIN_WINDOW:
        raise WalkForwardError(
            f"--walk-forward {windows}: {count} candles give out-of-sample parts of {part}"
            f" candles, {part - gap} after the gap of {gap}; at least {MIN_WINDOW} are needed"
            " (fewer windows or more data)"
        )
    out: list[Bounds] = []
    for i in range(windows):
        start = i * part
        end = start + 3 * part
        out.append(Bounds(start, end, end + gap, end + part))
    return out


@dataclass(frozen=True, slots=True)
class WindowResult:
    bounds: Bounds
    trials: int
    winner: TrialResult | None  # in-sample
    out_of_sample: TrialResult | None
    wfe: float | None
    deflated_sharpe: float | None

    def to_json(self, candles: Sequence[Candle]) -> dict[str, Any]:
        b = self.bounds
        return {
            "in_sample": [candles[b.is_start].open_time, candles[b.is_end - 1].close_time],
            "out_of_sample": [candles[b.oos_start].open_time, candles[b.oos_end - 1].close_time],
            "trials": self.trials,
            "params": None if self.winner is None else self.winner.params,
            "in_sample_metrics": None if self.winner is None else self.winner.metrics,
            "out_of_sample_metrics": (
                None if self.out_of_sample is None else self.out_of_sample.metrics
            ),
            "wfe": self.wfe,
            "deflated_sharpe": self.deflated_sharpe,
        }


def efficiency(
    in_sample: dict[str, Any], is_minutes: int, out_sample: dict[str, Any], oos_minutes: int
) -> float | None:
    """Out-of-sample return per minute over the in-sample one; None unless both spans have
    minutes and the in-sample return is positive."""
    is_return = float(in_sample["return_pct"])
    if is_return <= 0 or is_minutes <= 0 or oos_minutes <= 0:
        return None
    return (float(out_sample["return_pct"]) / oos_minutes) / (is_return / is_minutes)


def overall_efficiency(windows: Sequence[WindowResult]) -> float | None:
    """The same over every window's parts added up."""
    is_sum = oos_sum = 0.0
    is_minutes = oos_minutes = 0
    for w in windows:
        if w.winner is None or w.out_of_sample is None:
            continue
        is_sum += float(w.winner.metrics["return_pct"])
        oos_sum += float(w.out_of_sample.metrics["return_pct"])
        is_minutes += w.bounds.is_end - w.bounds.is_start
        oos_minutes += w.bounds.oos_end - w.bounds.oos_start
    if is_sum <= 0 or not is_minutes or not oos_minutes:
        return None
    return (oos_sum / oos_minutes) / (is_sum / is_minutes)


def winner_deflated_sharpe(winner: TrialResult, trials: Sequence[TrialResult]) -> float | None:
    """The winner's deflated Sharpe ratio among `trials` (per-minute figures)."""
    sharpe, skew, kurtosis, count = winner.moments
    return deflated_sharpe(sharpe, skew, kurtosis, count, [t.moments[0] for t in trials])


def run_windows(
    candles: Sequence[Candle],
    plan: Plan,
    bounds: Sequence[Bounds],
    optimise: Callable[[int, Sequence[Candle]], Outcome],
    score_out: Callable[[TrialResult, Sequence[Candle]], TrialResult],
) -> list[WindowResult]:
    """Each window: `optimise` its in-sample candles (window number, candles), then
    `score_out` the winner on its out-of-sample candles."""
    out: list[WindowResult] = []
    for n, b in enumerate(bounds):
        outcome = optimise(n, candles[b.is_start : b.is_end])
        winner = outcome.best(plan)
        if winner is None:
            out.append(WindowResult(b, len(outcome.trials), None, None, None, None))
            continue
        oos = score_out(winner, candles[b.oos_start : b.oos_end])
        wfe = efficiency(
            winner.metrics, b.is_end - b.is_start, oos.metrics, b.oos_end - b.oos_start
        )
        dsr = winner_deflated_sharpe(winner, outcome.trials)
        out.append(WindowResult(b, len(outcome.trials), winner, oos, wfe, dsr))
        if outcome.interrupted:
            break
    return out
