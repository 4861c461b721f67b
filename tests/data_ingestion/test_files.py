"""Reading Binance trade files: real recordings and broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import BadDataFile
from data_ingestion.files import read_trades

TESTNET = "testnet-btcusdt-2026-06-15"


def test_rest_trades_json(binance_data):
    ticks = list(read_trades(binance_data / TESTNET / "trades.json", "BTCUSDT"))
    assert len(ticks) == 500
    assert [t.trade_id for t in ticks] == list(range(1400422, 1400922))
    assert ticks[0].trade_time_ms == 1781505507617 and ticks[0].is_buyer_maker is False


def test_rest_agg_trades_json_counts_trades(binance_data):
    ticks = list(read_trades(binance_data / TESTNET / "aggTrades.json", "BTCUSDT"))
    assert len(ticks) == 500
    assert sum(t.count for t in ticks) == 1400921 - 1400411 + 1


def test_symbol_required_when_the_file_has_none(binance_data):
    with pytest.raises(BadDataFile, match="--symbol"):
        list(read_trades(binance_data / TESTNET / "trades.json"))


def test_recorded_stream_csv_in_microseconds(binance_data):
    ticks = list(read_trades(binance_data / "stream" / "trxusdt_trade_stream_2025-03-04_us.csv"))
    assert [t.trade_id for t in ticks] == list(range(348656870, 348666870))
    assert {t.symbol for t in ticks} == {"TRXUSDT"}
    assert ticks[0].trade_time_ms == 1741046401271  # µs 1741046401271497
    assert ticks[0].is_buyer_maker is True and ticks[1].is_buyer_maker is False
    minutes = {t.trade_time_ms // 60_000 for t in ticks}
    assert max(minutes) - min(minutes) + 1 == 48


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_vision_csvs_with_and_without_header_and_symbol_from_name(tmp_path):
    trades = (
        "1,100.5,0.1,10.05,1735689600000000,True,True\n2,101,0.2,20.2,1735689660001,false,True\n"
    )
    plain = list(read_trades(_write(tmp_path, "BTCUSDT-trades-2025-01-01.csv", trades)))
    header = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n"
    named = list(read_trades(_write(tmp_path, "x.csv", header + trades), "btcusdt"))
    assert plain == named
    assert plain[0].symbol == "BTCUSDT" and plain[0].trade_time_ms == 1735689600000
    assert plain[1].trade_time_ms == 1735689660001 and plain[1].is_buyer_maker is False
    agg = "7,100,0.5,10,12,1735689600000,False,True\n"
    (tick,) = read_trades(_write(tmp_path, "ETHUSDT-aggTrades-2025-01-01.csv", agg))
    assert (tick.symbol, tick.trade_id, tick.count) == ("ETHUSDT", 12, 3)


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("", 1, "empty"),
        ("a,b,c\n1,2,3\n", 1, "unknown CSV header"),
        ("1,2,3\n", 1, "expected 7"),
        ("1,100,0.1,10,1735689600000,True,True\ngarbage\n", 2, "1 columns"),
        ("1,100,0.1,10,1735689600000,True,True\n2,abc,0.1,1,1735689600001,True,True\n", 2, "abc"),
        (
            '[\n {"id": 1, "price": "1", "qty": "1", "time": 1, "isBuyerMaker": true},'
            '\n {"x": 1}\n]',
            3,
            "neither",
        ),
        ('[\n {"id": 1, "price": "1", "qty": "1",\n', 3, "bad JSON"),
    ],
)
def test_bad_files_name_the_line(tmp_path, text, line, why):
    path = _write(tmp_path, "BTCUSDT-bad.csv", text)
    with pytest.raises(BadDataFile, match=why) as info:
        list(read_trades(path))
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
