"""`python main.py candles --trades FILE [--symbol SYM]`: a trade file -> 1-minute klines.

Prints a JSON array in the `/api/v3/klines` row layout, one candle per line, every minute from
the first trade's to the last trade's (the first and last may be partial; empty minutes in
between are flat candles). Files of several symbols print each symbol's candles in turn, in
order of first appearance. A bad file: one line on stderr naming the file and line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle
from core.errors import BadDataFile
from data_ingestion.files import read_trades


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register this command's options."""
    parser.add_argument(
        "--trades",
        required=True,
        type=Path,
        metavar="FILE",
        help="REST trades/aggTrades JSON, data.binance.vision trades/aggTrades CSV, or a "
        "recorded trade stream CSV",
    )
    parser.add_argument(
        "--symbol",
        default=None,
        help="symbol for files that carry none (REST JSON, data.binance.vision CSV); "
        "default: the file name's prefix, e.g. BTCUSDT-trades-2025-01-01.csv",
    )


def candles_from_file(path: Path, symbol: str | None = None) -> list[Candle]:
    """Every minute's candle of the file, by symbol then time. Raises BadDataFile."""
    closed: list[Candle] = []
    aggregator = CandleAggregator(history=1, grace_ms=0, on_close=closed.append)
    for tick in read_trades(path, symbol):
        aggregator.add_tick(tick)
    for sym in aggregator.symbols():
        candle = aggregator.open_candle(sym)
        if candle is not None:  # the last minute: partial, but printed like the first
            closed.append(candle)
    order = {sym: i for i, sym in enumerate(aggregator.symbols())}
    closed.sort(key=lambda c: (order[c.symbol], c.open_time))
    return closed


def run(args: argparse.Namespace) -> int:
    try:
        candles = candles_from_file(args.trades, args.symbol)
    except BadDataFile as exc:
        sys.stderr.write(f"candles: {exc}\n")
        return 2
    lines = [orjson.dumps(c.to_kline_row()).decode() for c in candles]
    try:
        sys.stdout.write("[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n"))
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        return 0
    return 0
