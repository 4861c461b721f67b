"""`python main.py optimize --data FILE … --param NAME=VALUES …`: search a strategy's settings.

Every trial is a backtest of the live code (optimize.trials); the trials run on a Dask
cluster, local by default. Exit codes: 0 done, 2 bad input (one line on stderr), 130
interrupted (the finished trials are reported and written).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from aggregation.models import Candle
from core.errors import BadDataFile, BadInputError
from core.variants import INTERVALS

log = logging.getLogger(__name__)


class OptionError(BadInputError):
    """A command-line value the optimiser cannot use."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register this command's options."""
    from backtest.cli import add_fill_arguments
    from optimize.params import SAMPLERS
    from optimize.scoring import OBJECTIVES

    parser.add_argument(
        "--data", nargs="+", required=True, type=Path, metavar="FILE",
        help="klines of one symbol (REST JSON or data.binance.vision CSV)",
    )  # fmt: skip
    parser.add_argument("--symbol", help="the symbol of files that do not name it (BTCUSDT)")
    parser.add_argument("--strategy", default="ema_sma", help="a strategy of the library")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="values to search: NAME=V1,V2,… or NAME=LO:HI:STEP (both ends included);"
        " the strategy's parameters and stop_loss",
    )
    parser.add_argument("--interval", default="1m", help="the variants' candle interval")
    parser.add_argument("--sampler", choices=SAMPLERS, default="grid")
    parser.add_argument("--trials", type=int, help="settings to draw (random, tpe, nsga2)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="return")
    parser.add_argument("--min-trades", type=int, default=0,
                        help="settings with fewer round trips score worst")  # fmt: skip
    parser.add_argument("--walk-forward", type=int, metavar="K", help="K rolling windows")
    parser.add_argument("--gap", type=int, help="candles between in- and out-of-sample"
                        " (default: the largest period searched)")  # fmt: skip
    parser.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    parser.add_argument("--cluster", metavar="tcp://HOST:PORT", help="an existing Dask scheduler")
    parser.add_argument(
        "--study",
        help="keep the trials under this name beside the ledger of DATABASE_URL (an existing"
        " study resumes; default optimize-<UTC time>)",
    )
    add_fill_arguments(parser)
    parser.add_argument(
        "--database",
        metavar="URL",
        help="the ledger whose studies (and notifications) this run joins (overrides"
        " DATABASE_URL; a --simulate service's is sqlite:///data/simulated.db)",
    )
    parser.add_argument("--seed", type=int, help="the samplers' seed (repeatable draws)")
    parser.add_argument("--json", type=Path, help="write the trials and the best here")
    parser.add_argument("--html", type=Path, help="write a self-contained report page here")
    parser.add_argument("--variant", default="A", help="the live variant the printed call sets")
    parser.add_argument(
        "--progress-lines",
        action="store_true",
        help="also print each finished trial as a JSON line on stdout, for a program that"
        ' watches the run: {"progress": {"search", "done", "total", "best"}}',
    )


def load_candles(paths: Sequence[Path], symbol: str | None) -> list[Candle]:
    """The klines of every file, one symbol, in time order, without overlap."""
    from backtest.sources import DataKind, identify, load_klines

    candles: list[Candle] = []
    seen: str | None = None
    for path in paths:
        data = identify(path, symbol)
        if data.kind is not DataKind.KLINES:
            raise BadDataFile(path, None, f"holds {data.kind.value}: optimize reads klines"
                              " (turn trades into klines with `main.py candles`)")  # fmt: skip
        if seen is not None and data.symbol != seen:
            raise BadDataFile(path, None, f"is {data.symbol}, the other files {seen}: one symbol")
        seen = data.symbol
        candles.extend(load_klines(data))
    candles.sort(key=lambda c: c.open_time)
    for before, after in itertools.pairwise(candles):
        if after.open_time <= before.open_time:
            raise OptionError(f"--data: two files hold the candle of {after.open_time} (overlap)")
    if not candles:
        raise OptionError("--data: no candles")
    return candles


@contextlib.contextmanager
def progress_bar(total: int, label: str) -> Iterator[Any]:
    """A tqdm bar on stderr (shown on a terminal only): trials done, best so far, ETA."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="trial", file=sys.stderr, disable=None, leave=False)
    try:
        yield bar
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    """Run the optimisation; 0 done, 2 bad input, 130 interrupted."""
    from config import SettingsError, load_settings
    from optimize.params import parse_space
    from storage.url import DatabaseUrlError, parse

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        if args.database:
            from pydantic import SecretStr

            settings = settings.model_copy(update={"database_url": SecretStr(args.database)})
        parse(_ledger_url(settings))  # DatabaseUrlError: one line, before any work
        space = parse_space(args.strategy, args.param)
        _check_options(args)
        return _optimise(args, settings, space)
    except (BadInputError, SettingsError, DatabaseUrlError) as exc:
        where = "--database: " if args.database and isinstance(exc, DatabaseUrlError) else ""
        sys.stderr.write(f"optimize: {where}{exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("optimize: interrupted before the first trial finished\n")
        return 130


def _check_options(args: argparse.Namespace) -> None:
    from backtest.fill_model import fill_model

    fill_model(args.fill, args.slippage, args.latency)  # FillModelError names the option
    if args.interval not in INTERVALS:
        raise OptionError(f"--interval {args.interval!r}: one of {', '.join(INTERVALS)}")
    if args.sampler != "grid" and (args.trials is None or args.trials < 1):
        raise OptionError(f"--sampler {args.sampler} needs --trials N (N >= 1)")
    if args.workers is not None and args.workers < 1:
        raise OptionError("--workers must be at least 1")
    if args.workers is not None and args.cluster:
        raise OptionError("--workers starts a local cluster: leave it out with --cluster")
    if args.min_trades < 0:
        raise OptionError("--min-trades must be 0 or more")
    if args.gap is not None and args.gap < 0:
        raise OptionError("--gap must be 0 or more")


def _optimise(args: argparse.Namespace, settings: Any, space: Any) -> int:
    """The candles are read and checked first (a bad file or too few candles for the windows
    is refused before any worker starts: a cluster closed while its workers start logs their
    tracebacks); then the workers start (and import this project) in a thread while this one
    opens the studies."""
    from concurrent.futures import ThreadPoolExecutor

    from optimize.cluster import open_pool
    from optimize.walkforward import split

    candles = load_candles(args.data, args.symbol.upper() if args.symbol else None)
    if args.walk_forward is not None:
        split(len(candles), args.walk_forward, _gap(args, space))
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(1) as starter:
        cm = open_pool(args.cluster, args.workers)

        def enter() -> Any:
            pool = cm.__enter__()
            pool.warm()
            return pool

        entering = starter.submit(enter)

        def leave() -> None:
            try:
                entering.result()
            except BaseException:  # it did not start: nothing to close
                return
            cm.__exit__(None, None, None)

        stack.callback(leave)
        return _search(args, settings, space, candles, entering.result)


def _gap(args: argparse.Namespace, space: Any) -> int:
    return int(args.gap) if args.gap is not None else _largest_period(space)


def _search(
    args: argparse.Namespace, settings: Any, space: Any, candles: list[Candle], started: Any
) -> int:
    from backtest.fill_model import fill_model
    from optimize import report
    from optimize.search import Plan
    from optimize.walkforward import split

    plan = Plan(
        space, args.sampler, args.trials, args.objective, args.min_trades, args.interval,
        args.seed, fill_model(args.fill, args.slippage, args.latency),
    )  # fmt: skip
    bounds = None
    if args.walk_forward is not None:
        bounds = split(len(candles), args.walk_forward, _gap(args, space))
    from datetime import UTC, datetime

    from optimize.studies import default_name

    storage, where = _storage(settings)
    name = args.study or default_name(datetime.now(UTC))
    pool = started()
    runner = _Runner(plan, settings, pool, storage, name)
    runner.progress_lines = args.progress_lines
    if bounds is None:
        outcome = runner.search(candles, "trials")
        best = outcome.best(plan)
        deflated = None
        if best is not None:
            from optimize.walkforward import winner_deflated_sharpe

            deflated = winner_deflated_sharpe(best, outcome.trials)
        doc = report.document(plan, outcome, candles, deflated=deflated)
        text = report.summary(plan, outcome, deflated)
        interrupted = outcome.interrupted
    else:
        from optimize.walkforward import run_windows

        windows = run_windows(candles, plan, bounds, runner.window, runner.score_out)
        doc = report.document(plan, runner.everything(), candles, windows)
        doc["trials"] = [
            {"window": n, **t.to_json()}
            for n, o in enumerate(runner.outcomes)
            for t in sorted(o.trials, key=lambda t: t.number)
        ]
        merged = runner.everything()
        text = (
            f"optimize: walk-forward, {len(windows)} windows, {len(merged.trials)} trials"
            f" ({plan.sampler}, objective {plan.objective}), {merged.skipped} settings"
            " refused by the strategy's constraints"
            f"{' - interrupted' if merged.interrupted else ''}\n"
            + report.walk_forward_table(windows, candles)
        )
        best = windows[-1].winner if windows else None
        doc["best"] = None if best is None else best.to_json()  # the newest window's
        interrupted = runner.interrupted
    curves: list[tuple[str, tuple[int, ...], tuple[float, ...]]] = []
    if args.html and best is not None and not interrupted:
        curves = runner.compare(best, candles)
    runner.keep_report({k: v for k, v in doc.items() if k != "trials"})
    _announce(settings, runner.names[-1] if runner.names else name, doc)
    sys.stdout.write(text)
    sys.stdout.write(f"kept as study {', '.join(runner.names)} in {where} (GET /optimizations)\n")
    if best is not None:
        sys.stdout.write(f"promote it to variant {args.variant}:\n  ")
        sys.stdout.write(report.promote_call(best, args.variant, settings.api_port) + "\n")
    if args.json:
        report.write_json(doc, args.json)
    if args.html:
        from optimize.html_report import render

        args.html.write_text(render(doc, curves, float(settings.variant_capital)), "utf-8")
    return 130 if interrupted else 0


def _largest_period(space: Any) -> int:
    values = [v for name, vs in space.values.items() if name != "stop_loss" for v in vs]
    whole = [int(v) for v in values if float(v).is_integer()]
    return max(whole, default=0)


def _ledger_url(settings: Any) -> str:
    """--database, else DATABASE_URL, else the default ledger (run() folds --database in)."""
    from storage.url import DEFAULT_URL

    return settings.database_url.get_secret_value() if settings.database_url else DEFAULT_URL


def _announce(settings: Any, study: str, doc: dict[str, Any]) -> None:
    """An `optimization` event in the ledger's outbox when notifications are configured: the
    running service's notifier delivers it (docs/notifications.md)."""
    from core.events import parse_levels
    from service.notifier import channels
    from storage.database import make_engine
    from storage.outbox import Event, OutboxPolicy, add
    from storage.url import parse

    found = channels(settings)
    if not found:
        return
    now = int(time.time() * 1000)
    best = doc.get("best")
    data = {"study": study, "strategy": doc["strategy"], "symbol": doc["symbol"],
            "trials": len(doc["trials"]), "interrupted": doc["interrupted"],
            "best": best}  # fmt: skip
    event = Event(f"optimization-{study}", "optimization", now, data)
    rows = OutboxPolicy(found, parse_levels(settings.notify_events), lambda: now).event_rows(
        [event]
    )
    engine = make_engine(parse(_ledger_url(settings)))
    try:
        with engine.connect() as conn:
            add(conn, rows)
    except Exception as exc:  # an older ledger without the outbox, a database lost
        log.warning("the optimisation's notification was not written (%s)", type(exc).__name__)
    finally:
        engine.dispose()


def _storage(settings: Any) -> tuple[Any, str]:
    """The studies' storage beside the ledger of DATABASE_URL, and where it is (no password)."""
    from optimize.studies import describe, open_storage
    from storage.url import parse

    url = parse(_ledger_url(settings))
    return open_storage(url), describe(url)


class _Runner:
    """The searches of one command: the whole data, or one per walk-forward window."""

    def __init__(self, plan: Any, settings: Any, pool: Any, storage: Any, study: str):
        self.plan, self.settings, self.pool = plan, settings, pool
        self.storage, self.study = storage, study
        self.outcomes: list[Any] = []
        self.studies: list[Any] = []
        self.interrupted = False
        self.progress_lines = False

    def search(self, candles: Sequence[Candle], label: str, suffix: str = "") -> Any:
        from optimize.search import Search, make_study

        study = make_study(self.plan, self.storage, self.study + suffix)
        self.studies.append(study)
        search = Search(self.plan, self.settings, self.pool, study)
        total = search.planned()
        done = itertools.count(1)
        with progress_bar(total, label) as bar:

            def on_trial(result: Any, best: Any) -> None:
                bar.update(1)
                n = next(done)
                shown = None
                if best is not None:
                    shown = (
                        f"best #{best.number} {self.plan.objective}"
                        f" {_figure(best.metrics, self.plan.objective)}"
                    )
                    bar.set_postfix_str(shown)
                if self.progress_lines:
                    line = {"search": label, "done": n, "total": total, "best": shown}
                    sys.stdout.write(json.dumps({"progress": line}) + "\n")
                    sys.stdout.flush()

            search.on_trial = on_trial
            outcome = search.run(candles)
        self.outcomes.append(outcome)
        self.interrupted = self.interrupted or outcome.interrupted
        return outcome

    @property
    def names(self) -> list[str]:
        return [s.study_name for s in self.studies]

    def keep_report(self, report: dict[str, Any]) -> None:
        """The run's report (its JSON without the trials) on each of its studies."""
        for study in self.studies:
            study.set_user_attr("report", report)

    def window(self, n: int, candles: Sequence[Candle]) -> Any:
        return self.search(candles, f"window {n}", f"-window{n}")

    def score_out(self, winner: Any, candles: Sequence[Candle]) -> Any:
        from optimize.params import Setting
        from optimize.trials import make_task

        setting = Setting.of(winner.params)
        task = make_task(self.settings, self.plan.space.strategy.name, self.plan.interval,
                         [(winner.number, setting)], self.plan.fill)  # fmt: skip
        self.pool.use(candles)
        future = self.pool.submit(task)
        ((_, results),) = self.pool.finished([future])
        return results[0]

    def compare(
        self, best: Any, candles: Sequence[Candle]
    ) -> list[tuple[str, tuple[int, ...], tuple[float, ...]]]:
        """Equity curves over all `candles` of the best setting and of the live variants that
        run this strategy at this interval (the report's chart), the best's first: (label,
        close times, equity at those closes)."""
        from optimize.params import STOP_LOSS, Setting
        from optimize.trials import make_task, thin

        labels = {0: f"best: trial {best.number}"}
        trials = [(0, Setting.of(best.params))]
        for n, live in enumerate(self.settings.variant_settings, start=1):
            if (
                live.strategy != self.plan.space.strategy.name
                or live.interval != self.plan.interval
            ):
                continue
            params = {**live.parameters(), STOP_LOSS: str(live.stop_loss)}
            labels[n] = f"live {live.name}: " + " ".join(f"{k}={v}" for k, v in params.items())
            trials.append((n, Setting.of(params)))
        task = make_task(self.settings, self.plan.space.strategy.name, self.plan.interval,
                         trials, self.plan.fill)  # fmt: skip
        self.pool.use(candles)
        ((_, results),) = self.pool.finished([self.pool.submit(task)])
        times = thin([c.close_time for c in candles])  # the closes the curves were thinned at
        return [(labels[r.number], tuple(int(t) for t in times), r.curve) for r in results]

    def everything(self) -> Any:
        from optimize.search import Outcome

        merged = Outcome()
        for o in self.outcomes:
            merged.trials.extend(o.trials)
            merged.skipped += o.skipped
            merged.repeats += o.repeats
            merged.interrupted = merged.interrupted or o.interrupted
        return merged


def _figure(metrics: dict[str, Any], objective: str) -> str:
    from optimize.scoring import metric_of

    value = metrics[metric_of(objective)]
    if value is None:
        return "n/a"
    return f"{value}%" if objective == "return" else f"{float(value):.2f}"
