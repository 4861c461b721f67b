"""The search: Optuna asks for settings, the pool runs them in batches, Optuna is told.

- grid: every valid setting of the space, each enqueued once (a resumed study skips those
  it has finished);
- random, tpe: `--trials` settings drawn by the sampler from the listed values;
- nsga2: the same, for two objectives at once (the objective up, max drawdown down): the
  Pareto front.

A setting the strategy refuses (EMA not shorter than SMA) is told PRUNED and counted as
skipped; one drawn again is told its first figures without running again. Ctrl-C
(KeyboardInterrupt) stops the search: the batches still running are cancelled, their trials
told FAIL, and the finished ones are kept. A Ctrl-C that comes while the study is written
waits until the write is done (`interrupts_held`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aggregation.models import Candle
from backtest.fill_model import MEASURED, FillModel
from config import Settings
from optimize.cluster import Pool
from optimize.interrupts import interrupts_held
from optimize.params import STOP_LOSS, SearchSpace, Setting, Value
from optimize.scoring import WORST, drawdown, score
from optimize.trials import TrialResult, make_task

log = logging.getLogger(__name__)

MAX_BATCH = 16  # trials per batch: larger share more of the run, smaller balance better


@dataclass(frozen=True, slots=True)
class Plan:
    """What to search and how."""

    space: SearchSpace
    sampler: str = "grid"
    trials: int | None = None  # for the samplers other than grid
    objective: str = "return"
    min_trades: int = 0
    interval: str = "1m"
    seed: int | None = None
    fill: FillModel = MEASURED


@dataclass(slots=True)
class Outcome:
    """The finished trials of a search (in the order they finished) and what was left out."""

    trials: list[TrialResult] = field(default_factory=list)
    skipped: int = 0  # settings the strategy refuses
    repeats: int = 0  # settings the sampler drew again
    interrupted: bool = False

    def best(self, plan: Plan) -> TrialResult | None:
        """The trial with the highest score (the first of equals); None when none can win."""
        ranked = [
            t for t in self.trials if score(t.metrics, plan.objective, plan.min_trades) > WORST
        ]
        if not ranked:
            return None
        return max(
            ranked, key=lambda t: (score(t.metrics, plan.objective, plan.min_trades), -t.number)
        )

    def pareto(self, plan: Plan) -> list[TrialResult]:
        """The trials no other beats on both the objective and max drawdown."""
        points = [
            (score(t.metrics, plan.objective, plan.min_trades), drawdown(t.metrics), t)
            for t in self.trials
        ]
        points = [p for p in points if p[0] > WORST]
        front = [
            t for s, d, t in points
            if not any((s2 >= s and d2 <= d) and (s2 > s or d2 < d) for s2, d2, _ in points)
        ]  # fmt: skip
        return sorted(front, key=lambda t: drawdown(t.metrics))


def make_study(plan: Plan, storage: Any = None, name: str | None = None) -> Any:
    """An Optuna study for `plan` (in memory, or resumed/created in `storage` as `name`)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers: dict[str, Callable[[], Any]] = {
        "grid": lambda: optuna.samplers.RandomSampler(seed=plan.seed),  # enqueued: see run()
        "random": lambda: optuna.samplers.RandomSampler(seed=plan.seed),
        "tpe": lambda: optuna.samplers.TPESampler(seed=plan.seed, constant_liar=True),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=plan.seed),
    }
    directions: list[Any] = ["maximize", "minimize"] if plan.sampler == "nsga2" else ["maximize"]
    return optuna.create_study(
        storage=storage,
        study_name=name,
        sampler=samplers[plan.sampler](),
        directions=directions,
        load_if_exists=name is not None,
    )


def _key(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in params.items()))


def _choices(values: Sequence[Value]) -> list[int | float | str]:
    """Optuna's categorical choices: the stop-loss as text (exact), numbers as they are."""
    return [str(v) if isinstance(v, Decimal) else v for v in values]


class Search:
    """One search over `candles`: ask, run in batches on `pool`, tell; `on_trial` is told
    every finished trial (the progress bar)."""

    def __init__(
        self,
        plan: Plan,
        base: Settings,
        pool: Pool,
        study: Any,
        on_trial: Callable[[TrialResult, TrialResult | None], None] | None = None,
    ) -> None:
        self.plan = plan
        self.base = base
        self.pool = pool
        self.study = study
        self.on_trial = on_trial
        self.outcome = Outcome()
        self._seen: dict[tuple[tuple[str, str], ...], TrialResult] = {}
        self._asked: dict[int, Any] = {}  # trial number -> Optuna trial, while running
        self._running: set[tuple[tuple[str, str], ...]] = set()  # their settings

    def planned(self) -> int:
        """How many trials this search runs (the progress bar's total)."""
        if self.plan.sampler == "grid":
            return len(self._grid_left())
        return self.plan.trials or 0

    def _grid_left(self) -> list[dict[str, Any]]:
        done = {_key(t.params) for t in self._completed()}
        left: list[dict[str, Any]] = []
        for chosen in self.plan.space.grid():
            if self.plan.space.setting(chosen) is None:
                continue
            params = {k: str(v) if isinstance(v, Decimal) else v for k, v in chosen.items()}
            if _key(params) not in done:
                left.append(params)
        return left

    def _completed(self) -> list[Any]:
        import optuna

        states = (optuna.trial.TrialState.COMPLETE,)
        return list(self.study.get_trials(deepcopy=False, states=states))

    def previous(self) -> list[TrialResult]:
        """The finished trials a resumed study already holds."""
        out: list[TrialResult] = []
        for t in self._completed():
            metrics = t.user_attrs.get("metrics")
            if metrics is not None:
                params = t.user_attrs.get("params", t.params)
                a, b, c, d = t.user_attrs.get("moments", (0.0, 0.0, 3.0, 0))
                out.append(TrialResult(t.number, params, metrics, (a, b, c, int(d))))
        return out

    def run(self, candles: Sequence[Candle]) -> Outcome:
        """Search over `candles` until the plan is done or Ctrl-C."""
        for result in self.previous():
            self._seen[_key(result.params)] = result
            self.outcome.trials.append(result)
        budget = self.planned()
        if self.plan.sampler == "grid":
            for params in self._grid_left():
                self.study.enqueue_trial(params)
            self.outcome.skipped = self.plan.space.valid_grid()[1]
        if budget == 0:
            return self.outcome
        self.pool.use(candles)
        # Two batches per worker, each worker given one at a time: a worker given two while
        # another waits would leave a core idle (Dask does not move a running batch).
        workers = self.pool.workers
        batch = max(1, min(MAX_BATCH, math.ceil(budget / (2 * workers))))
        running: dict[Any, list[int]] = {}
        asked = 0
        try:
            while asked < budget or running:
                while asked < budget and len(running) < workers:
                    with interrupts_held():
                        trials, asked = self._ask(batch, budget, asked)
                    if trials:
                        task = make_task(self.base, self.plan.space.strategy.name,
                                         self.plan.interval, trials, self.plan.fill)  # fmt: skip
                        running[self.pool.submit(task)] = [n for n, _ in trials]
                if not running:
                    break
                for future, results in self.pool.finished(list(running)):
                    del running[future]
                    with interrupts_held():
                        for result in results:
                            self._tell(result)
        except KeyboardInterrupt:
            self.outcome.interrupted = True
            with contextlib.suppress(KeyboardInterrupt), interrupts_held():  # already stopping
                self.pool.cancel(list(running))
                self._fail_running()
        return self.outcome

    def _ask(self, size: int, budget: int, asked: int) -> tuple[list[tuple[int, Setting]], int]:
        """Up to `size` new settings to run. Refused and repeated ones are told at once and
        do not count against the budget; a sampler that draws only those for 10 × the
        budget has nothing new to offer, and the search ends."""
        import optuna

        out: list[tuple[int, Setting]] = []
        space = self.plan.space
        while len(out) < size and asked < budget:
            if self.outcome.skipped + self.outcome.repeats > 10 * max(budget, 1):
                return out, budget
            trial = self.study.ask()
            chosen: dict[str, Value] = {}
            for name, values in space.values.items():
                picked = trial.suggest_categorical(name, _choices(values))
                chosen[name] = Decimal(str(picked)) if name == STOP_LOSS else picked
            setting = space.setting(chosen)
            if setting is None:
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                self.outcome.skipped += 1
                continue
            key = _key(setting.as_dict())
            known = self._seen.get(key)
            if known is not None or key in self._running:
                if known is not None:
                    self.study.tell(trial, self._values(known))
                else:
                    self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                self.outcome.repeats += 1
                continue
            asked += 1
            self._asked[trial.number] = trial
            self._running.add(key)
            out.append((trial.number, setting))
        return out, asked

    def _values(self, result: TrialResult) -> list[float]:
        first = score(result.metrics, self.plan.objective, self.plan.min_trades)
        if self.plan.sampler == "nsga2":
            return [first, drawdown(result.metrics)]
        return [first]

    def _tell(self, result: TrialResult) -> None:
        trial = self._asked.pop(result.number)
        trial.set_user_attr("metrics", result.metrics)
        trial.set_user_attr("params", result.params)
        trial.set_user_attr("moments", list(result.moments))
        self.study.tell(trial, self._values(result))
        self._running.discard(_key(result.params))
        self._seen[_key(result.params)] = result
        self.outcome.trials.append(result)
        if self.on_trial is not None:
            self.on_trial(result, self.outcome.best(self.plan))

    def _fail_running(self) -> None:
        import optuna

        for trial in self._asked.values():
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        self._asked.clear()
        self._running.clear()
