"""Run trials: a batch of settings through one backtest of the live code.

A batch is one `backtest.runner.run_streams` over the candles with one variant per setting:
variants are independent in a run (each has its own capital, positions and risk counts), so a
trial's figures are exactly those of `main.py backtest` with that setting as its only variant,
and the candle loop, aggregation and bookkeeping shared by the batch are paid once.

`run_batch` is what a Dask worker runs: plain data in, plain data out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from aggregation.models import Candle, CandleSource
from backtest.fill_model import MEASURED, FillModel
from backtest.metrics import minute_returns
from backtest.report import metrics_by_variant
from backtest.run import BacktestConfig
from backtest.runner import candle_stream, run_streams
from config import Settings, SettingsError
from optimize.params import Setting

METRICS = (
    "return_pct", "max_drawdown_pct", "trades", "win_rate", "sharpe", "sortino", "calmar",
    "profit_factor", "expectancy", "fees",
)  # fmt: skip


SECRETS = ("binance_api_key", "binance_api_secret", "database_url", "api_token")


@dataclass(frozen=True, slots=True)
class Task:
    """What a worker needs besides the candles: the batch's settings (one variant per trial,
    named `t<number>`; no secret: they travel to the cluster) and the trials."""

    settings: Settings
    trials: tuple[tuple[int, Setting], ...]  # (trial number, setting)
    fill: FillModel


class CandleSet:
    """The candles as they travel to the workers: plain rows (one pickle of strings and ints,
    about ten times faster than candles of Decimals, and never split into one message per
    candle as Dask does with a list), made Candles again once on each worker, and kept."""

    def __init__(self, symbol: str, rows: list[tuple[Any, ...]]) -> None:
        self.symbol = symbol
        self.rows = rows
        self._candles: list[Candle] | None = None

    @classmethod
    def of(cls, candles: Sequence[Candle]) -> CandleSet:
        """The rows of `candles` (one symbol)."""
        symbol = candles[0].symbol if candles else ""
        rows = [
            (c.open_time, str(c.open), str(c.high), str(c.low), str(c.close), str(c.volume),
             str(c.quote_volume), c.trades, str(c.taker_buy_base), str(c.taker_buy_quote),
             c.complete, c.source.value, c.interval_ms)
            for c in candles
        ]  # fmt: skip
        return cls(symbol, rows)

    def __reduce__(self) -> tuple[Any, ...]:
        return (CandleSet, (self.symbol, self.rows))  # the rows only: Candles are rebuilt

    def __len__(self) -> int:
        return len(self.rows)

    def candles(self) -> list[Candle]:
        """The candles, built on the first call (Decimal(str(x)) is x, exponent included)."""
        if self._candles is None:
            sym, dec = self.symbol, Decimal
            self._candles = [
                Candle(sym, t, dec(o), dec(h), dec(lo), dec(c), dec(v), dec(qv), n, dec(tb),
                       dec(tq), complete, CandleSource(source), interval)
                for t, o, h, lo, c, v, qv, n, tb, tq, complete, source, interval in self.rows
            ]  # fmt: skip
        return self._candles


@dataclass(frozen=True, slots=True)
class TrialResult:
    number: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    moments: tuple[float, float, float, int]  # per-minute Sharpe, skewness, kurtosis, returns
    curve: tuple[float, ...] = ()  # equity at CURVE_POINTS evenly spaced closes (the report's)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "params": self.params, "metrics": self.metrics}


def variant_entry(name: str, strategy: str, setting: Setting, interval: str) -> str:
    """One `VARIANTS` entry for `setting`: what `main.py backtest` reads for the same trial."""
    args = ",".join(f"{k}={v}" for k, v in setting.params)
    return f"{name}:{setting.stop_loss}:{strategy}({args})@{interval}"


def make_task(
    base: Settings,
    strategy: str,
    interval: str,
    trials: Sequence[tuple[int, Setting]],
    fill: FillModel = MEASURED,
) -> Task:
    """A batch of `trials` on the `base` settings (its secrets left out); SettingsError
    when a setting is one the service would refuse."""
    entries = [variant_entry(f"t{n}", strategy, s, interval) for n, s in trials]
    settings = base.model_copy(update={"variants": ",".join(entries), **dict.fromkeys(SECRETS)})
    try:
        settings.variant_settings  # noqa: B018  # parsed here, not first on a worker
    except ValueError as exc:
        raise SettingsError(f"VARIANTS: {exc}") from None
    return Task(settings, tuple(trials), fill)


def run_batch(candle_set: CandleSet, task: Task) -> list[TrialResult]:
    """Every trial of `task` in one backtest of the candles (sync: a worker's whole job)."""
    candles = candle_set.candles()
    settings = task.settings
    config = BacktestConfig(
        files=[],
        variants=settings.variant_settings,
        fee_rate=settings.paper_fee_rate,
        capital=settings.variant_capital,
        fill=task.fill,
    )
    result = asyncio.run(run_streams(settings, config, [candle_stream(candles)], len(candles)))
    curves: dict[str, list[float]] = {}
    figures = metrics_by_variant(result, curves, portfolio=False)
    return [
        TrialResult(
            n, setting.as_dict(), figures[f"t{n}"], moments(curves[f"t{n}"]), thin(curves[f"t{n}"])
        )
        for n, setting in task.trials
    ]


CURVE_POINTS = 300
T = TypeVar("T")


def thin(curve: Sequence[T], points: int = CURVE_POINTS) -> tuple[T, ...]:
    """`points` evenly spaced values of `curve`, its last one included (all of a short one)."""
    n = len(curve)
    if n <= points:
        return tuple(curve)
    return tuple(curve[round(i * (n - 1) / (points - 1))] for i in range(points))


def moments(curve: list[float]) -> tuple[float, float, float, int]:
    """(Sharpe per minute, skewness, kurtosis (3 for a normal law), count) of the curve's
    minute returns: what the deflated Sharpe ratio needs of a trial."""
    returns = minute_returns(curve)
    n = len(returns)
    if n < 2:
        return 0.0, 0.0, 3.0, n
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / n
    if var <= 1e-30:
        return 0.0, 0.0, 3.0, n
    sd = math.sqrt(var)
    skew = math.fsum(((r - mean) / sd) ** 3 for r in returns) / n
    kurt = math.fsum(((r - mean) / sd) ** 4 for r in returns) / n
    return mean / sd, skew, kurt, n
