"""A research request is refused before any work, naming its field, exactly where `main.py
optimize` would refuse it; what is accepted becomes a command line main.py's own parsers take,
and settings the child reads back as the service's."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import pytest

from config import load_settings
from core.variants import parse_variants
from research.jobs import child_settings
from research.plans import (
    BacktestPlan,
    OptimizePlan,
    PlanError,
    backtest_command,
    check_optimize,
    optimize_command,
    variants_setting,
)

LIVE = parse_variants("A:0.15,B:0.10:rsi(14,30,70)@5m", 5, 10)
A, B = LIVE


@pytest.mark.parametrize(
    ("plan", "field", "words"),
    [
        (OptimizePlan("BTCUSDT", A, ("ema_period=0,5",)), "params", "ema_period must be"),
        (OptimizePlan("BTCUSDT", A, ("period=3",)), "params", "has no such parameter"),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3", "ema_period=4")), "params", "given twice"),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3:1:1",)), "params", ""),
        (OptimizePlan("BTCUSDT", A, ("stop_loss=1.5",)), "params", "stop"),
        (OptimizePlan("BTCUSDT", A, ("ema_period=20", "sma_period=10")), "params", "constraints"),
        (
            OptimizePlan("BTCUSDT", A, ("ema_period=1:60:1", "sma_period=2:80:1")),
            "params",
            "at most",
        ),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3,5",), sampler="tpe"), "trials", "needs"),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3,5",), sampler="tpe", trials=0), "trials", ""),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3,5",), sampler="nsga2"), "sampler", "grid"),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3,5",), objective="luck"), "objective", ""),
        (OptimizePlan("BTCUSDT", A, ("ema_period=3,5",), min_trades=-1), "min_trades", ""),
        (OptimizePlan("BTCUSDT", B, ("ema_period=3,5",)), "params", "rsi has no such"),
    ],
)
def test_a_request_the_optimiser_would_refuse_is_refused_naming_its_field(
    plan: OptimizePlan, field: str, words: str
) -> None:
    with pytest.raises(PlanError) as caught:
        check_optimize(plan)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("plan", "settings"),
    [
        (OptimizePlan("BTCUSDT", A, ("ema_period=3,5", "sma_period=10:20:5")), 6),
        # Pairs where the EMA is not shorter than the SMA are skipped, not run.
        (OptimizePlan("BTCUSDT", A, ("ema_period=5,10,15", "sma_period=10")), 1),
        (OptimizePlan("BTCUSDT", A, ("stop_loss=0.05:0.2:0.05",)), 4),
        (OptimizePlan("BTCUSDT", B, ("period=7,14", "stop_loss=0.1")), 2),
    ],
)
def test_an_accepted_request_counts_the_settings_a_grid_runs(
    plan: OptimizePlan, settings: int
) -> None:
    assert check_optimize(plan) == settings


def _parsed(add_arguments: object, args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser)  # type: ignore[operator]
    return parser.parse_args(args)


def test_the_commands_are_what_main_py_parses(tmp_path: Path) -> None:
    from backtest.cli import add_arguments as backtest_arguments
    from optimize.cli import add_arguments as optimize_arguments

    command = backtest_command(BacktestPlan("ETHUSDT", tuple(LIVE)), tmp_path)
    assert command[0] == "backtest"
    args = _parsed(backtest_arguments, command[1:])
    assert args.data == [tmp_path / "ETHUSDT-1m-stored.json"] and args.symbol == "ETHUSDT"
    assert args.report == tmp_path / "report.json" and args.html == tmp_path / "report.html"

    plan = OptimizePlan("BTCUSDT", B, ("period=7,14", "stop_loss=0.1,0.2"), "tpe", 12, "sortino", 3)
    command = optimize_command(plan, tmp_path, "research-7")
    assert command[0] == "optimize"
    args = _parsed(optimize_arguments, command[1:])
    assert (args.strategy, args.interval, args.variant) == ("rsi", "5m", "B")
    assert args.param == ["period=7,14", "stop_loss=0.1,0.2"]
    assert (args.sampler, args.trials, args.objective, args.min_trades) == ("tpe", 12, "sortino", 3)
    assert (args.workers, args.study, args.progress_lines) == (1, "research-7", True)
    assert args.json == tmp_path / "report.json"


def test_the_child_reads_the_services_settings_back_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = load_settings(
        None, variants="A:0.125:ema_sma(4,21)@1m,B:0.1:macd(8,21,5)@15m",
        variant_capital="2500.5", paper_fee_rate="0.00075",
        order_quantities="BTCUSDT=0.002,ETHUSDT=0.03", order_quote_default="35",
        risk_max_position_quote="5000", risk_daily_loss_limit_quote="150",
        risk_max_orders_per_day=300, candle_history=2000, api_port=8123,
    )  # fmt: skip
    for name, value in child_settings(service, service.variant_settings).items():
        monkeypatch.setenv(name, value)
    child = load_settings(None)
    assert child.variant_settings == service.variant_settings
    for name in (
        "variant_capital", "paper_fee_rate", "order_quantities", "order_quote_default",
        "risk_max_position_quote", "risk_daily_loss_limit_quote", "risk_max_orders_per_day",
        "candle_history", "api_port",
    ):  # fmt: skip
        assert getattr(child, name) == getattr(service, name), name
    assert child.order_quantities["BTCUSDT"] == Decimal("0.002")


def test_the_variants_as_they_run_now_are_written_as_the_setting_reads_them() -> None:
    changed = parse_variants("A:0.07:ema_sma(3,30)@3m,B:0.2:bollinger(20,2.5)", 5, 10)
    assert parse_variants(variants_setting(changed), 5, 10) == changed
    # The EMA/SMA variant's periods are written out, never taken from the child's defaults.
    assert parse_variants(variants_setting(changed), 99, 100)[0] == changed[0]
