"""Candles from real Binance trade data equal Binance's own klines; the CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aggregation.candles_cli import candles_from_file

ROOT = Path(__file__).resolve().parents[2]
TESTNET = "testnet-btcusdt-2026-06-15"


def _nine(row: list[Any]) -> list[Any]:
    return [
        Decimal(row[i]) if isinstance(row[i], str) else row[i] for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)
    ]


@pytest.mark.parametrize(("name", "full"), [("trades.json", 14), ("aggTrades.json", 15)])
def test_candles_equal_official_klines(binance_data, name, full):
    klines = {r[0]: r for r in json.loads((binance_data / TESTNET / "klines_1m.json").read_text())}
    candles = candles_from_file(binance_data / TESTNET / name, "BTCUSDT")
    inner = candles[1:-1]  # the first and last minutes of a slice are partial
    assert len(inner) == full
    equal = [c for c in inner if _nine(c.to_kline_row()) == _nine(klines[c.open_time])]
    assert len(equal) == full
    assert [c.open_time for c in candles] == list(
        range(candles[0].open_time, candles[-1].open_time + 1, 60_000)
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", "candles", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.e2e
def test_cli_prints_klines_json(binance_data):
    out = _cli("--trades", str(binance_data / TESTNET / "trades.json"), "--symbol", "BTCUSDT")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    lines = out.stdout.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(rows) + 2
    klines = {r[0]: r for r in json.loads((binance_data / TESTNET / "klines_1m.json").read_text())}
    assert len(rows) == 16
    for row in rows[1:-1]:
        assert row == klines[row[0]]  # byte-for-byte the same strings as Binance's


@pytest.mark.e2e
def test_cli_reads_the_microsecond_stream_recording(binance_data):
    out = _cli("--trades", str(binance_data / "stream" / "trxusdt_trade_stream_2025-03-04_us.csv"))
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 48
    assert rows[0][0] == 1741046400000 and rows[-1][0] == 1741049220000
    assert sum(r[8] for r in rows) == 10_000


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("text", "line"),
    [("", 1), ("time,price\n1,2\n", 1), ("1,100,0.1,10,1735689600000,True,True\n%%garbage\n", 2)],
)
def test_cli_bad_file_is_one_line_and_exit_2(tmp_path, text, line):
    path = tmp_path / "BTCUSDT-trades.csv"
    path.write_text(text)
    out = _cli("--trades", str(path))
    assert out.returncode == 2
    assert out.stdout == ""
    err = out.stderr.splitlines()
    assert len(err) == 1 and f"{path}:{line}:" in err[0] and "Traceback" not in out.stderr
