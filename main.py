"""Entry point: `python main.py [--simulate …]` runs the service; subcommands run tools.

python main.py                      the service against the Binance Spot Testnet
python main.py --simulate           the same service against the built-in simulator
python main.py candles --trades F   trade file -> 1-minute klines (JSON rows)
python main.py backtest --data F    replay history through the live strategy code
python main.py optimize --data F --param ema_period=3,5,8  search settings (Dask, Optuna)
python main.py journal export|import  the ledger as JSON lines, out and in
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from aggregation import candles_cli
    from backtest import cli as backtest_cli
    from optimize import cli as optimize_cli
    from wiring import journal_cli, runner

    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Binance Spot Testnet trading service (EMA/SMA crossover, variants A and B).",
    )
    runner.add_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    candles_cli.add_arguments(
        commands.add_parser("candles", help="build 1-minute klines from a Binance trade file")
    )
    backtest_cli.add_arguments(
        commands.add_parser("backtest", help="replay klines, trades or a recording through A and B")
    )
    optimize_cli.add_arguments(
        commands.add_parser("optimize", help="search a strategy's settings over klines")
    )
    journal_cli.add_arguments(
        commands.add_parser("journal", help="export the ledger as JSON lines, or import them")
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "candles":
        from aggregation import candles_cli

        return candles_cli.run(args)
    if args.command == "backtest":
        from backtest import cli as backtest_cli

        return backtest_cli.run(args)
    if args.command == "optimize":
        from optimize import cli as optimize_cli

        return optimize_cli.run(args)
    if args.command == "journal":
        from wiring import journal_cli

        return journal_cli.run(args)
    from wiring import runner

    return runner.run(args)


if __name__ == "__main__":
    sys.exit(main())
