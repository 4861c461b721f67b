"""Binance trade files -> Ticks, for the `candles` CLI and the backtest.

Formats (detected from the content, not the file name):
- REST `/api/v3/trades` or `/api/v3/historicalTrades` JSON: `[{id, price, qty, time, ...}]`
- REST `/api/v3/aggTrades` JSON: `[{a, p, q, f, l, T, m, M}]` (one Tick per aggregate trade,
  `trade_id` = l, `count` = l - f + 1)
- JSON lines of stream events (`<sym>@trade`, bare or in a combined-stream envelope)
- data.binance.vision trades CSV `id,price,qty,quote_qty,time,is_buyer_maker,is_best_match`
  and aggTrades CSV `agg_id,price,qty,first_id,last_id,time,is_buyer_maker,is_best_match`,
  with or without a header row
- a recorded trade stream CSV with the header `...,Symbol,TradeId,Price,Quantity,
  IsBuyerMarketMaker,...` and `TransactionTime` as the trade time
Times may be ms or µs (normalised to ms). Files without a symbol take `symbol`, else the
file name's prefix when it is one (`BTCUSDT-trades-2025-01-01.csv`), else BadDataFile.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.errors import BadDataFile
from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError, NotATrade, decode_frame, normalise_ms, trade_to_tick

TRADES_CSV = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
AGG_CSV = ("agg_id", "price", "qty", "first_id", "last_id", "time", "is_buyer_maker")
STREAM_CSV = ("TransactionTime", "Symbol", "TradeId", "Price", "Quantity", "IsBuyerMarketMaker")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


def read_trades(path: Path, symbol: str | None = None) -> Iterator[Tick]:
    """Every trade of the file at `path`, in file order. Raises BadDataFile naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadDataFile(path, 0, f"cannot read: {exc}") from None
    stripped = text.lstrip()
    if not stripped:
        raise BadDataFile(path, 1, "empty file: no trades")
    if stripped.startswith("["):
        yield from _json_array(path, text, symbol)
    elif stripped.startswith("{"):
        yield from _json_lines(path, text)
    else:
        yield from _csv(path, text, symbol)


def _symbol_for(path: Path, symbol: str | None) -> str:
    if symbol:
        return symbol.upper()
    prefix = path.name.split("-", 1)[0].split(".", 1)[0]
    if prefix.isalnum() and prefix.isupper() and 5 <= len(prefix) <= 20:
        return prefix
    raise BadDataFile(path, 1, "the file has no symbol: pass --symbol (e.g. --symbol BTCUSDT)")


def _dec(text: Any, what: str) -> Decimal:
    if not isinstance(text, str):
        raise ValueError(f"{what} {text!r} is not a decimal string")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{what} {text!r} is not a positive number")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"{what} {value!r} is not an integer")


def _bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise ValueError(f"{what} {value!r} is not true/false")


def _json_array(path: Path, text: str, symbol: str | None) -> Iterator[Tick]:
    """A JSON array decoded item by item, so an error names the item's line."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    sym: str | None = None
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            raise BadDataFile(path, text.count("\n") + 1, "unterminated JSON array")
        if text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BadDataFile(path, exc.lineno, f"bad JSON: {exc.msg}") from None
        if not isinstance(item, dict):
            raise BadDataFile(path, line, f"expected a trade object, got {type(item).__name__}")
        if sym is None:
            sym = _symbol_for(path, symbol)
        try:
            yield _rest_item(item, sym)
        except (ValueError, KeyError) as exc:
            why = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise BadDataFile(path, line, why) from None


def _rest_item(item: dict[str, Any], symbol: str) -> Tick:
    if "id" in item:  # /api/v3/trades, /api/v3/historicalTrades
        return Tick(
            symbol,
            _int(item["id"], "id"),
            _dec(item["price"], "price"),
            _dec(item["qty"], "qty"),
            normalise_ms(_int(item["time"], "time")),
            _bool(item["isBuyerMaker"], "isBuyerMaker"),
        )
    if "a" in item:  # /api/v3/aggTrades
        first, last = _int(item["f"], "f"), _int(item["l"], "l")
        if last < first:
            raise ValueError(f"aggregate trade with l {last} < f {first}")
        return Tick(
            symbol,
            last,
            _dec(item["p"], "p"),
            _dec(item["q"], "q"),
            normalise_ms(_int(item["T"], "T")),
            _bool(item["m"], "m"),
            count=last - first + 1,
        )
    raise ValueError("neither a trade (id, price, qty, time) nor an aggTrade (a, p, q, f, l, T)")


def _json_lines(path: Path, text: str) -> Iterator[Tick]:
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            yield trade_to_tick(decode_frame(raw), 0)
        except NotATrade:
            continue
        except FrameError as exc:
            raise BadDataFile(path, number, str(exc)) from None


def _csv(path: Path, text: str, symbol: str | None) -> Iterator[Tick]:
    rows = csv.reader(text.splitlines())
    first = next(rows, None)
    if not first:
        raise BadDataFile(path, 1, "empty first line")
    header = [c.strip() for c in first]
    if set(STREAM_CSV) <= set(header):
        yield from _stream_csv(path, rows, header)
        return
    has_header = not header[0].strip().isdigit()
    if has_header and tuple(header[: len(AGG_CSV)]) == AGG_CSV:
        kind = "agg"
    elif has_header and tuple(header[: len(TRADES_CSV)]) == TRADES_CSV:
        kind = "trades"
    elif has_header:
        raise BadDataFile(
            path, 1, f"unknown CSV header {','.join(header)!r}: expected {','.join(TRADES_CSV)}"
        )
    else:
        kind = {7: "trades", 8: "agg"}.get(len(header), "")
        if not kind:
            raise BadDataFile(
                path, 1, f"{len(header)} columns: expected 7 (trades CSV) or 8 (aggTrades CSV)"
            )
    sym = _symbol_for(path, symbol)
    width = 7 if kind == "trades" else 8
    lines = rows if has_header else _chain(first, rows)
    start = 2 if has_header else 1
    for number, row in enumerate(lines, start):
        if not row:
            continue
        try:
            if len(row) != width:
                raise ValueError(f"{len(row)} columns, expected {width}")
            if kind == "trades":
                yield Tick(
                    sym,
                    _int(row[0], "id"),
                    _dec(row[1], "price"),
                    _dec(row[2], "qty"),
                    normalise_ms(_int(row[4], "time")),
                    _bool(row[5], "is_buyer_maker"),
                )
            else:
                f, last = _int(row[3], "first_id"), _int(row[4], "last_id")
                if last < f:
                    raise ValueError(f"last_id {last} < first_id {f}")
                yield Tick(
                    sym,
                    last,
                    _dec(row[1], "price"),
                    _dec(row[2], "qty"),
                    normalise_ms(_int(row[5], "time")),
                    _bool(row[6], "is_buyer_maker"),
                    count=last - f + 1,
                )
        except (ValueError, csv.Error) as exc:
            raise BadDataFile(path, number, str(exc)) from None


def _chain(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


def _stream_csv(path: Path, rows: Iterator[list[str]], header: list[str]) -> Iterator[Tick]:
    col = {name: header.index(name) for name in STREAM_CSV}
    width = len(header)
    for number, row in enumerate(rows, 2):
        if not row:
            continue
        try:
            if len(row) != width:
                raise ValueError(f"{len(row)} columns, expected {width}")
            sym = row[col["Symbol"]].strip().upper()
            if not sym.isalnum():
                raise ValueError(f"Symbol {sym!r} is not a symbol")
            yield Tick(
                sym,
                _int(row[col["TradeId"]], "TradeId"),
                _dec(row[col["Price"]], "Price"),
                _dec(row[col["Quantity"]], "Quantity"),
                normalise_ms(_int(row[col["TransactionTime"]], "TransactionTime")),
                _bool(row[col["IsBuyerMarketMaker"]], "IsBuyerMarketMaker"),
            )
        except (ValueError, csv.Error) as exc:
            raise BadDataFile(path, number, str(exc)) from None
