"""Kline files: REST `/api/v3/klines` JSON and data.binance.vision kline CSV, as 1-minute Candles.

Rows are checked as they are read: twelve columns, numbers where numbers belong, a one-minute
interval, open times strictly increasing. Times in microseconds (data.binance.vision since 2025)
are normalised to milliseconds. A bad row raises `BadDataFile(path, line, why)`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aggregation.models import Candle, CandleSource
from core.clock import MINUTE_MS
from core.errors import BadDataFile

KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
_US_THRESHOLD = 10**14  # epoch ms is 13 digits until the year 5138; µs is 16


def is_kline_row(row: Sequence[Any]) -> bool:
    """Whether a row looks like a kline: 12 fields, integer open and close times a minute apart."""
    if len(row) != len(KLINE_COLUMNS):
        return False
    try:
        open_time, close_time = int(row[0]), int(row[6])
    except (TypeError, ValueError):
        return False
    scale = 1000 if open_time >= _US_THRESHOLD else 1
    return 0 < close_time - open_time < 10 * 24 * 3600 * 1000 * scale


def candle_from_row(row: Sequence[Any], symbol: str, path: Path, line: int) -> Candle:
    """One kline row (JSON values or CSV strings) -> a closed, complete Candle."""
    if len(row) != len(KLINE_COLUMNS):
        raise BadDataFile(
            path, line, f"expected {len(KLINE_COLUMNS)} kline columns, got {len(row)}"
        )
    try:
        open_time, close_time, count = int(row[0]), int(row[6]), int(row[8])
    except (TypeError, ValueError):
        raise BadDataFile(path, line, "open_time, close_time and count must be integers") from None
    if open_time >= _US_THRESHOLD:  # microseconds
        open_time, close_time = open_time // 1000, close_time // 1000
    if close_time - open_time != MINUTE_MS - 1:
        raise BadDataFile(
            path, line, f"not a 1-minute kline (close_time - open_time = {close_time - open_time})"
        )
    try:
        o, h, lo, c, vol, qv, tb, tq = (
            Decimal(str(row[i]).strip()) for i in (1, 2, 3, 4, 5, 7, 9, 10)
        )
    except InvalidOperation:
        raise BadDataFile(path, line, "a price or volume is not a number") from None
    if not (lo <= o <= h and lo <= c <= h) or lo <= 0:
        raise BadDataFile(path, line, f"inconsistent prices: open {o} high {h} low {lo} close {c}")
    return Candle(symbol, open_time, o, h, lo, c, vol, qv, count, tb, tq, True, CandleSource.STREAM)


def _checked(candles: Iterator[tuple[int, Candle]], path: Path) -> Iterator[Candle]:
    previous: int | None = None
    for line, candle in candles:
        if previous is not None and candle.open_time <= previous:
            raise BadDataFile(
                path,
                line,
                f"rows are not sorted: open_time {candle.open_time} after {previous}",
            )
        previous = candle.open_time
        yield candle


def read_kline_json(path: Path, symbol: str, rows: list[Any] | None = None) -> list[Candle]:
    """REST `/api/v3/klines` JSON: a list of 12-field rows. The line number is the row's index+1."""
    if rows is None:
        try:
            rows = json.loads(path.read_bytes())
        except ValueError as exc:
            raise BadDataFile(path, None, f"not valid JSON ({exc})") from None
    if not isinstance(rows, list) or not rows:
        raise BadDataFile(path, None, "no kline rows")

    def parsed() -> Iterator[tuple[int, Candle]]:
        for index, row in enumerate(rows):
            if not isinstance(row, list):
                raise BadDataFile(path, index + 1, "a kline row must be a JSON array")
            yield index + 1, candle_from_row(row, symbol, path, index + 1)

    return list(_checked(parsed(), path))


def read_kline_csv(path: Path, symbol: str) -> list[Candle]:
    """data.binance.vision kline CSV, with or without the header line; ms or µs times."""

    def parsed() -> Iterator[tuple[int, Candle]]:
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.reader(handle), start=1):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if line == 1 and row[0].strip().lower() == "open_time":
                    if [c.strip().lower() for c in row] != list(KLINE_COLUMNS):
                        raise BadDataFile(path, 1, f"unexpected kline header {','.join(row)}")
                    continue
                yield line, candle_from_row(row, symbol, path, line)

    candles = list(_checked(parsed(), path))
    if not candles:
        raise BadDataFile(path, None, "no kline rows")
    return candles
