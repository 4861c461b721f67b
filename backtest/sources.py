"""What a `--data` file is, told from its content, and the stream of market events it holds.

Three kinds: klines (REST JSON or data.binance.vision CSV) become Candles; trade files (every
format `data_ingestion.files.read_trades` reads) and recordings (gzip JSON lines, see
`recording.recorder`) become Ticks, which go through the live aggregator; a recording the
service made is replayed whole by `backtest.replay`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from aggregation.models import Candle
from backtest.klines import is_kline_row, read_kline_csv, read_kline_json
from core.errors import BadDataFile

GZIP_MAGIC = b"\x1f\x8b"
_SYMBOL_IN_NAME = re.compile(
    r"(?i)(?<![a-z0-9])([a-z0-9]{2,12}?(?:usdt|usdc|fdusd|busd|btc|eth|bnb|eur|try))(?![a-z0-9])"
)


class DataKind(StrEnum):
    KLINES = "klines"
    TRADES = "trades"
    RECORDING = "recording"


@dataclass(frozen=True, slots=True)
class DataFile:
    path: Path
    kind: DataKind
    symbol: str | None  # None for a recording (its events name their symbols)


def detect(path: Path) -> DataKind:
    """Tell klines, trades and recordings apart by their first bytes and first row."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as exc:
        raise BadDataFile(path, None, f"cannot read: {exc.strerror or exc}") from None
    if head.startswith(GZIP_MAGIC):
        return DataKind.RECORDING
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise BadDataFile(path, 1, "the file is empty")
    if text.startswith("{"):
        first = text.split("\n", 1)[0]
        if '"e"' in first and ('"t"' in first or '"recording"' in first):
            return DataKind.RECORDING  # an uncompressed recording (JSON lines of events)
        return DataKind.TRADES
    if text.startswith("["):
        body = text[1:].lstrip()
        if body.startswith("["):
            return DataKind.KLINES
        if body.startswith("{"):
            return DataKind.TRADES
        if body.startswith("]"):
            raise BadDataFile(path, 1, "the JSON array is empty")
        raise BadDataFile(path, 1, "unknown JSON format (neither klines rows nor trade objects)")
    first_line = text.split("\n", 1)[0]
    row = next(csv.reader(io.StringIO(first_line)), [])
    if row and row[0].strip().lower() == "open_time":
        return DataKind.KLINES
    if is_kline_row(row):
        return DataKind.KLINES
    return DataKind.TRADES


def symbol_from_name(path: Path) -> str | None:
    """BTCUSDT-1m-2024-01.csv, klines_btcusdt_2021.json, testnet-btcusdt-…/klines_1m.json."""
    for part in (path.name, path.parent.name):
        match = _SYMBOL_IN_NAME.search(part)
        if match:
            return match.group(1).upper()
    return None


def identify(path: Path, symbol: str | None) -> DataFile:
    """The file's kind and symbol (`symbol` from --symbol wins over the file name)."""
    kind = detect(path)
    if kind is DataKind.RECORDING:
        return DataFile(path, kind, symbol)
    chosen = symbol or symbol_from_name(path)
    if chosen is None and kind is DataKind.KLINES:
        raise BadDataFile(path, 1, "klines do not name their symbol: pass --symbol")
    return DataFile(path, kind, chosen)  # trade files may name it in their rows


def load_klines(data: DataFile) -> list[Candle]:
    """Every candle of a kline file, checked (see `backtest.klines`)."""
    assert data.symbol is not None
    with data.path.open("rb") as handle:
        first = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return read_kline_json(data.path, data.symbol)
    return read_kline_csv(data.path, data.symbol)
