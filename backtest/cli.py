"""`python main.py backtest --data FILE [FILE …]`: history through the live strategy code.

Exit codes: 0 done, 2 bad input (a data file, an option or a setting; one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core.errors import BadInputError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register this command's options."""
    parser.add_argument(
        "--data",
        nargs="+",
        required=True,
        type=Path,
        metavar="FILE",
        help="klines (REST JSON or data.binance.vision CSV), trades (any format `candles` reads)"
        " or a recording (`main.py --record`); the format is told from the content",
    )
    parser.add_argument("--symbol", help="symbol of files that do not name it (e.g. BTCUSDT)")
    parser.add_argument("--variants", help="only these variants of the settings, e.g. A or A,B")
    parser.add_argument("--from", dest="start", help="start, ISO-8601 UTC (inclusive)")
    parser.add_argument("--to", dest="end", help="end, ISO-8601 UTC (exclusive)")
    parser.add_argument(
        "--fee", help="fee rate on each side (default: the PAPER_FEE_RATE setting, 0.001)"
    )
    add_fill_arguments(parser)
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    parser.add_argument(
        "--hold-at-end",
        action="store_true",
        help="leave what is held at the end open, valued at the last close (as the live service"
        " shows it); default: sold at the last close (reason end_of_data)",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        help="also write the replay's trade journal to this file (default: kept in memory)",
    )


def add_fill_arguments(parser: argparse.ArgumentParser) -> None:
    """--fill, --slippage and --latency (backtest.fill_model), shared with `main.py optimize`."""
    parser.add_argument(
        "--fill",
        choices=("next-open", "close"),
        help="candle data: an order fills at the next candle's open (default) or at the"
        " signalling close (docs/backtests.md, Fill model)",
    )
    parser.add_argument(
        "--slippage",
        metavar="BPS",
        help="each fill moved against the order by this many basis points (default 7.6,"
        " measured against the simulator)",
    )
    parser.add_argument(
        "--latency",
        metavar="MS",
        help="trade data: an order fills at the first trade this many milliseconds after the"
        " decision (docs/backtests.md, Fill model)",
    )


class OptionError(BadInputError):
    """A command-line value the backtest cannot use."""


def parse_time(text: str | None, option: str) -> int | None:
    """ISO-8601 (date or date-time; UTC unless an offset is given) -> epoch ms."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise OptionError(f"{option} {text!r} is not an ISO-8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_fee(text: str | None, default: Decimal) -> Decimal:
    if text is None:
        return default
    try:
        fee = Decimal(text)
    except InvalidOperation:
        raise OptionError(f"--fee {text!r} is not a number") from None
    if not fee.is_finite() or not Decimal(0) <= fee < Decimal(1):
        raise OptionError(f"--fee {text!r} must be between 0 and 1 (0.001 is 0.1 %)")
    return fee


def run(args: argparse.Namespace) -> int:
    """Run the backtest; 0 on success, 2 on bad input (one line on stderr)."""
    from backtest.fill_model import fill_model
    from backtest.report import build_report, format_summary, write_html, write_json
    from backtest.run import BacktestConfig
    from backtest.runner import run_backtest
    from config import SettingsError, load_settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        variants = settings.variant_settings
        if args.variants:
            wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
            unknown = [w for w in wanted if w not in {v.name for v in variants}]
            if unknown or not wanted:
                known = ",".join(v.name for v in variants)
                raise OptionError(f"--variants {args.variants!r}: unknown {unknown}; known {known}")
            variants = [v for v in variants if v.name in wanted]
        config = BacktestConfig(
            files=list(args.data),
            symbol=args.symbol.upper() if args.symbol else None,
            variants=variants,
            fee_rate=parse_fee(args.fee, settings.paper_fee_rate),
            start_ms=parse_time(args.start, "--from"),
            end_ms=parse_time(args.end, "--to"),
            journal_path=args.journal,
            progress=sys.stderr.isatty(),
            capital=settings.variant_capital,
            hold_at_end=args.hold_at_end,
            fill=fill_model(args.fill, args.slippage, args.latency),
        )
        result = asyncio.run(run_backtest(settings, config))
    except (BadInputError, SettingsError) as exc:
        sys.stderr.write(f"backtest: {exc}\n")
        return 2
    report = build_report(result)
    sys.stdout.write(format_summary(report))
    if args.report:
        write_json(report, args.report)
    if args.html:
        write_html(result, report, args.html)
    return 0
