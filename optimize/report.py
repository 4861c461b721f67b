"""What an optimisation prints and writes: the trials table, the best setting, the Pareto
front, the walk-forward table, the JSON document and the call that promotes the winner."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aggregation.models import Candle
from backtest.report import text_table as table
from optimize.params import STOP_LOSS
from optimize.scoring import WORST, score
from optimize.search import Outcome, Plan
from optimize.trials import TrialResult
from optimize.walkforward import WindowResult, overall_efficiency

TOP = 10  # trials shown in the terminal


def document(
    plan: Plan,
    outcome: Outcome,
    candles: Sequence[Candle],
    windows: Sequence[WindowResult] | None = None,
    deflated: float | None = None,
) -> dict[str, Any]:
    """The --json document: every finished trial, the best, and what was searched."""
    best = outcome.best(plan)
    doc: dict[str, Any] = {
        "strategy": plan.space.strategy.name,
        "symbol": candles[0].symbol if candles else None,
        "interval": plan.interval,
        "sampler": plan.sampler,
        "objective": plan.objective,
        "min_trades": plan.min_trades,
        "fill": plan.fill.to_json(),
        "candles": len(candles),
        "start_ms": candles[0].open_time if candles else None,
        "end_ms": candles[-1].close_time if candles else None,
        "space": {k: [str(v) for v in vs] for k, vs in plan.space.values.items()},
        "skipped": outcome.skipped,
        "repeats": outcome.repeats,
        "interrupted": outcome.interrupted,
        "trials": [t.to_json() for t in sorted(outcome.trials, key=lambda t: t.number)],
        "best": None if best is None else {**best.to_json(), "deflated_sharpe": deflated},
    }
    if plan.sampler == "nsga2":
        doc["pareto"] = [t.to_json() for t in outcome.pareto(plan)]
    if windows is not None:
        doc["walk_forward"] = {
            "windows": [w.to_json(candles) for w in windows],
            "wfe": overall_efficiency(windows),
        }
    return doc


def write_json(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _cells(t: TrialResult, plan: Plan) -> tuple[str, ...]:
    m = t.metrics
    s = score(m, plan.objective, plan.min_trades)
    return (
        str(t.number),
        " ".join(f"{k}={v}" for k, v in t.params.items()),
        str(m["trades"]),
        f"{m['return_pct']}%",
        f"{m['max_drawdown_pct']}%",
        f"{m['sharpe']:.2f}",
        f"{m['sortino']:.2f}",
        "n/a" if m["calmar"] is None else f"{m['calmar']:.2f}",
        "n/a" if m["profit_factor"] is None else f"{m['profit_factor']:.2f}",
        f"{m['win_rate']:.1%}",
        "-" if s == WORST else f"{s:.4g}",
    )


HEAD = ("#", "setting", "trades", "return", "max DD", "Sharpe", "Sortino", "Calmar", "PF",
        "win rate", "score")  # fmt: skip


def summary(plan: Plan, outcome: Outcome, deflated: float | None = None) -> str:
    """The terminal report: the best trials by score, the best, the Pareto front."""
    ranked = sorted(
        outcome.trials, key=lambda t: (-score(t.metrics, plan.objective, plan.min_trades), t.number)
    )
    head = (
        f"optimize: {len(outcome.trials)} trials ({plan.sampler}, objective {plan.objective}"
        f"{f', min trades {plan.min_trades}' if plan.min_trades else ''}),"
        f" {outcome.skipped} settings refused by the strategy's constraints"
        f"{f', {outcome.repeats} drawn again' if outcome.repeats else ''}"
        f"{' - interrupted: the finished trials are kept' if outcome.interrupted else ''}\n"
    )
    out = head + table([HEAD, *(_cells(t, plan) for t in ranked[:TOP])])
    if plan.sampler == "nsga2":
        front = outcome.pareto(plan)
        out += f"\nPareto front ({plan.objective} up, max drawdown down):\n"
        out += table([HEAD, *(_cells(t, plan) for t in front)])
    best = outcome.best(plan)
    if best is None:
        return out + "\nno trial can win: none has a figure (or enough trades)\n"
    out += f"\nbest: trial {best.number}, " + ", ".join(f"{k}={v}" for k, v in best.params.items())
    if deflated is not None:
        out += f" (deflated Sharpe ratio {deflated:.2f})"
    return out + "\n"


def walk_forward_table(windows: Sequence[WindowResult], candles: Sequence[Candle]) -> str:
    from datetime import UTC, datetime

    def day(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")

    rows: list[tuple[str, ...]] = [
        ("window", "in-sample", "out-of-sample", "trials", "winner", "IS return", "OOS return",
         "IS Sharpe", "OOS Sharpe", "WFE", "DSR"),
    ]  # fmt: skip
    for n, w in enumerate(windows):
        b = w.bounds
        win, oos = w.winner, w.out_of_sample
        rows.append(
            (
                str(n),
                f"{day(candles[b.is_start].open_time)}..{day(candles[b.is_end - 1].close_time)}",
                f"{day(candles[b.oos_start].open_time)}..{day(candles[b.oos_end - 1].close_time)}",
                str(w.trials),
                "-" if win is None else " ".join(f"{k}={v}" for k, v in win.params.items()),
                "-" if win is None else f"{win.metrics['return_pct']}%",
                "-" if oos is None else f"{oos.metrics['return_pct']}%",
                "-" if win is None else f"{win.metrics['sharpe']:.2f}",
                "-" if oos is None else f"{oos.metrics['sharpe']:.2f}",
                "n/a" if w.wfe is None else f"{w.wfe:.2f}",
                "n/a" if w.deflated_sharpe is None else f"{w.deflated_sharpe:.2f}",
            )
        )
    overall = overall_efficiency(windows)
    return (
        "\nwalk-forward:\n"
        + table(rows, left=5)
        + f"overall WFE: {'n/a' if overall is None else f'{overall:.2f}'}\n"
    )


def promote_call(best: TrialResult, variant: str = "A", port: int = 8000) -> str:
    """The `PATCH /variants/{name}` call that gives a live variant the winner's setting."""
    params = {k: v for k, v in best.params.items() if k != STOP_LOSS}
    body = json.dumps({"stop_loss": str(best.params[STOP_LOSS]), "parameters": params})
    return (
        f"curl -X PATCH http://127.0.0.1:{port}/variants/{variant}"
        ' -H "Authorization: Bearer $API_TOKEN" -H "Content-Type: application/json"'
        f" -d {shlex.quote(body)}"
    )
