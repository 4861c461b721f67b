"""What a research job runs: a request checked before any work, and the command line it becomes.

Pure: no I/O. The service (research.jobs) exports the candles and starts the command; a request
the command would refuse is refused here first, naming the field, so the page can show it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import BadInputError
from core.variants import VariantSettings
from optimize.params import SAMPLERS as CLI_SAMPLERS
from optimize.scoring import OBJECTIVES as OBJECTIVES  # the page offers the same

KINDS = ("backtest", "optimize")
# nsga2 searches two objectives at once (a Pareto front): the CLI's, not the page's.
SAMPLERS = tuple(sampler for sampler in CLI_SAMPLERS if sampler != "nsga2")
MAX_TRIALS = 2_000  # a job on the service's machine, beside live trading
MAX_CANDLES = 2 * 525_600  # the newest two years of stored 1-minute candles
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


class PlanError(BadInputError):
    """A request the job cannot run; `field` is the request's field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class BacktestPlan:
    """The live variants (as they run now) on one symbol's stored candles."""

    symbol: str
    variants: tuple[VariantSettings, ...]


@dataclass(frozen=True, slots=True)
class OptimizePlan:
    """A search of one live variant's strategy (its interval, its other parameters' defaults)
    on one symbol's stored candles."""

    symbol: str
    variant: VariantSettings
    params: tuple[str, ...]  # NAME=V1,V2 or NAME=LO:HI:STEP, as `main.py optimize --param`
    sampler: str = "grid"
    trials: int | None = None
    objective: str = "return"
    min_trades: int = 0


def variants_setting(variants: tuple[VariantSettings, ...] | list[VariantSettings]) -> str:
    """The VARIANTS setting that describes `variants` exactly (name, stop-loss, strategy with
    every parameter, interval): how the child process is told what runs now."""
    return ",".join(f"{v.name}:{v.stop_loss}:{v.spec}" for v in variants)


def check_optimize(plan: OptimizePlan) -> int:
    """Refuse what `main.py optimize` would refuse (PlanError naming the field); the number
    of settings a grid would run."""
    from optimize.params import ParamError, parse_space

    if plan.sampler not in SAMPLERS:
        raise PlanError("sampler", f"one of {', '.join(SAMPLERS)}")
    if plan.objective not in OBJECTIVES:
        raise PlanError("objective", f"one of {', '.join(OBJECTIVES)}")
    if plan.min_trades < 0:
        raise PlanError("min_trades", "must be 0 or more")
    if plan.sampler != "grid" and plan.trials is None:
        raise PlanError("trials", f"the {plan.sampler} sampler needs a number of trials")
    if plan.trials is not None and not 1 <= plan.trials <= MAX_TRIALS:
        raise PlanError("trials", f"from 1 to {MAX_TRIALS}")
    try:
        space = parse_space(plan.variant.strategy, list(plan.params), plan.variant.stop_loss)
    except ParamError as exc:
        raise PlanError("params", str(exc).removeprefix("--param ")) from None
    kept, _ = space.valid_grid()
    if not kept:
        raise PlanError("params", f"no setting satisfies {plan.variant.strategy}'s constraints")
    if plan.sampler == "grid" and len(kept) > MAX_TRIALS:
        raise PlanError("params", f"{len(kept)} settings; at most {MAX_TRIALS} from the page")
    return len(kept)


def candles_file(symbol: str) -> str:
    """The exported candles' file name (the reports title their data by it)."""
    return f"{symbol}-1m-stored.json"


def backtest_command(plan: BacktestPlan, folder: Path) -> list[str]:
    """`main.py backtest …` arguments for `plan`, its files in `folder`."""
    return [
        "backtest", "--data", str(folder / candles_file(plan.symbol)), "--symbol", plan.symbol,
        "--report", str(folder / REPORT_JSON), "--html", str(folder / REPORT_HTML),
    ]  # fmt: skip


def optimize_command(plan: OptimizePlan, folder: Path, study: str) -> list[str]:
    """`main.py optimize …` arguments for `plan`: one local worker (the live service shares
    the machine), progress as JSON lines on stdout, the study under `study`."""
    args = [
        "optimize", "--data", str(folder / candles_file(plan.symbol)), "--symbol", plan.symbol,
        "--strategy", plan.variant.strategy, "--interval", plan.variant.interval,
        "--sampler", plan.sampler, "--objective", plan.objective,
        "--min-trades", str(plan.min_trades), "--workers", "1", "--study", study,
        "--variant", plan.variant.name, "--progress-lines",
        "--json", str(folder / REPORT_JSON), "--html", str(folder / REPORT_HTML),
    ]  # fmt: skip
    if plan.trials is not None:
        args += ["--trials", str(plan.trials)]
    for text in plan.params:
        args += ["--param", text]
    return args
