"""Kline files and format detection, on the real recorded klines."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from backtest.klines import read_kline_csv, read_kline_json
from backtest.sources import DataKind, detect, identify, load_klines, symbol_from_name
from core.errors import BadDataFile


def test_testnet_klines_json_all_rows(binance_data: Path) -> None:
    path = binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json"
    rows = json.loads(path.read_text())
    candles = read_kline_json(path, "BTCUSDT")
    assert len(candles) == 500
    assert [c.to_kline_row() for c in candles] == [
        [r[0], *[str(Decimal(x)) for x in r[1:6]], r[6], str(Decimal(r[7])), r[8],
         str(Decimal(r[9])), str(Decimal(r[10])), "0"]
        for r in rows
    ]  # fmt: skip
    assert candles[28].low == Decimal("54537.98")


def test_detect_and_symbol_from_name(binance_data: Path, tmp_path: Path) -> None:
    klines = binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json"
    assert identify(klines, None).symbol == "BTCUSDT"
    assert identify(klines, None).kind is DataKind.KLINES
    assert detect(binance_data / "rest" / "klines_btcusdt_2021.json") is DataKind.KLINES
    assert detect(binance_data / "testnet-btcusdt-2026-06-15" / "trades.json") is DataKind.TRADES
    assert detect(binance_data / "testnet-btcusdt-2026-06-15" / "aggTrades.json") is DataKind.TRADES
    stream_csv = binance_data / "stream" / "trxusdt_trade_stream_2025-03-04_us.csv"
    assert detect(stream_csv) is DataKind.TRADES
    assert symbol_from_name(Path("BTCUSDT-1m-2024-01.csv")) == "BTCUSDT"
    assert symbol_from_name(Path("data/klines_ethusdt_2021.json")) == "ETHUSDT"
    rec = tmp_path / "run.rec"
    with gzip.open(rec, "wb") as handle:
        handle.write(b'{"e":"trade","s":"BTCUSDT","t":1}\n')
    assert detect(rec) is DataKind.RECORDING


def _vision_csv(path: Path, micro: bool, header: bool) -> str:
    """The first 20 recorded klines as a data.binance.vision CSV (ms or µs times)."""
    rows = json.loads(path.read_text())[:20]
    lines = []
    if header:
        lines.append(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore"
        )
    for r in rows:
        scale = 1000 if micro else 1
        r = [r[0] * scale, *r[1:6], r[6] * scale + (999 if micro else 0), *r[7:]]
        lines.append(",".join(str(x) for x in r))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("micro", "header"), [(False, False), (True, True), (True, False)])
def test_vision_csv_ms_and_us(binance_data: Path, tmp_path: Path, micro: bool, header: bool):
    src = binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json"
    text = _vision_csv(src, micro, header)
    path = tmp_path / "BTCUSDT-1m-2026-06.csv"
    path.write_text(text)
    data = identify(path, None)
    assert data.kind is DataKind.KLINES and data.symbol == "BTCUSDT"
    candles = load_klines(data)
    assert candles == read_kline_json(src, "BTCUSDT")[:20]


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m.csv"
    good = "1700000000000,1,2,0.5,1.5,10,1700000059999,15,3,5,7,0"
    later = "1700000060000,1,2,0.5,1.5,10,1700000119999,15,3,5,7,0"
    path.write_text(f"{later}\n{good}\n")
    with pytest.raises(BadDataFile, match=r"BTCUSDT-1m.csv:2: rows are not sorted"):
        read_kline_csv(path, "BTCUSDT")
    path.write_text(f"{good}\n1700000060000,1,2,0.5,x,10,1700000119999,15,3,5,7,0\n")
    with pytest.raises(BadDataFile, match=r":2: a price or volume is not a number"):
        read_kline_csv(path, "BTCUSDT")
    path.write_text(f"{good}\n1700000060000,1,2,0.5\n")
    with pytest.raises(BadDataFile, match=r":2: expected 12 kline columns, got 4"):
        read_kline_csv(path, "BTCUSDT")
    path.write_text("1700000000000,1,2,0.5,1.5,10,1700000299999,15,3,5,7,0\n")
    with pytest.raises(BadDataFile, match=r":1: not a 1-minute kline"):
        read_kline_csv(path, "BTCUSDT")
