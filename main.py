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
import importlib
import sys

# command -> (module with add_arguments/run, its help line)
COMMANDS = {
    "candles": ("aggregation.candles_cli", "build 1-minute klines from a Binance trade file"),
    "backtest": ("backtest.cli", "replay klines, trades or a recording through A and B"),
    "optimize": ("optimize.cli", "search a strategy's settings over klines"),
    "journal": ("wiring.journal_cli", "export the ledger as JSON lines, or import them"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or only the command `only` (its module alone is imported:
    the service's modules take about a second to import, which a tool need not pay)."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Binance Spot Testnet trading service (EMA/SMA crossover, variants A and B).",
    )
    if only is None:
        from wiring import runner

        runner.add_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        if only in (None, name):
            importlib.import_module(module).add_arguments(commands.add_parser(name, help=help_line))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    if args.command in COMMANDS:
        run: int = importlib.import_module(COMMANDS[args.command][0]).run(args)
        return run
    from wiring import runner

    return runner.run(args)


if __name__ == "__main__":
    sys.exit(main())
