"""Bad data files: one line on stderr naming the file, the line and what is wrong; exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

GOOD = "1700000000000,1,2,0.5,1.5,10,1700000059999,15,3,5,7,0"
NEXT = "1700000060000,1,2,0.5,1.5,10,1700000119999,15,3,5,7,0"


def _backtest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "backtest", *args],
        cwd=tmp_path,  # no .env of the developer's
        capture_output=True,
        text=True,
        timeout=60,
    )


CASES = {
    "empty": ("BTCUSDT-1m.csv", "", r"BTCUSDT-1m.csv:1: the file is empty"),
    "wrong_columns": (
        "BTCUSDT-1m.csv",
        f"{GOOD}\n1700000060000,1,2,0.5,1.5\n",
        r"BTCUSDT-1m.csv:2: expected 12 kline columns, got 5",
    ),
    "unsorted": ("BTCUSDT-1m.csv", f"{NEXT}\n{GOOD}\n", r"BTCUSDT-1m.csv:2: rows are not sorted"),
    "mixed_symbols": (
        "stream.csv",
        "TimestampOfReceive,Stream,EventType,EventTime,TransactionTime,Symbol,TradeId,Price,"
        "Quantity,IsBuyerMarketMaker,MUnknownParameter\n"
        "1741046401272286,trxusdt@trade,trade,1741046401271969,1741046401271497,TRXUSDT,"
        "348656870,0.2312,2619.4,1,True\n"
        "1741046401322500,btcusdt@trade,trade,1741046401321743,1741046401321398,BTCUSDT,"
        "348656871,0.2313,83.9,0,True\n",
        r"stream.csv: trade #2 (id 348656871): mixed symbols: BTCUSDT after TRXUSDT",
    ),
    "unknown_format": (
        "BTCUSDT-x.json",
        json.dumps([1, 2, 3]),
        r"BTCUSDT-x.json:1: unknown JSON format",
    ),
    "not_a_kline_interval": (
        "BTCUSDT-5m.csv",
        "1700000000000,1,2,0.5,1.5,10,1700000299999,15,3,5,7,0\n",
        r"BTCUSDT-5m.csv:1: not a 1-minute kline",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_exit_2_one_line(tmp_path: Path, case: str) -> None:
    name, content, expected = CASES[case]
    path = tmp_path / name
    path.write_text(content)
    report = tmp_path / "report.json"
    proc = _backtest(tmp_path, "--data", str(path), "--report", str(report))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{tmp_path / name}{expected[len(name) :]}" in lines[0]
    assert not report.exists()  # nothing else happened
    assert proc.stdout == ""


def test_unknown_variant_and_bad_time(tmp_path: Path, binance_data: Path) -> None:
    data = str(binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json")
    proc = _backtest(tmp_path, "--data", data, "--variants", "C")
    assert proc.returncode == 2 and "--variants" in proc.stderr
    proc = _backtest(tmp_path, "--data", data, "--from", "yesterday")
    assert proc.returncode == 2 and "--from 'yesterday'" in proc.stderr


def test_good_run_writes_reports(tmp_path: Path, binance_data: Path) -> None:
    data = str(binance_data / "rest" / "klines_btcusdt_2021.json")
    proc = _backtest(
        tmp_path, "--data", data, "--report", "r.json", "--html", "r.html", "--variants", "B"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["variants"]) == ["B"]
    assert "summary" in report["variants"]["B"]["BTCUSDT"]
    assert "B        BTCUSDT" in proc.stdout
    page = (tmp_path / "r.html").read_text()
    assert '<meta name="viewport"' in page and 'data-chart="price-0"' in page
    assert "<script src=" not in page  # the chart library is inlined: nothing is fetched
    table = page[page.index("<table>") : page.index("</table>")]
    assert not re.search(r"\d\.\d{3,}", table), table  # money and ratios rounded for people
