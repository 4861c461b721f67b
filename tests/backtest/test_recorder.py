"""The recorder writes raw events off the loop and reads them back, torn tail included."""

from __future__ import annotations

import gzip
import json
import zlib
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from backtest.run import BacktestConfig
from backtest.runner import run_backtest
from config import Settings, load_settings
from core.errors import BadDataFile
from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError
from recording.format import read_recording, recorded_tick, tick_event
from recording.recorder import Recorder

EVENTS = [
    {"e": "trade", "E": 1000 + i, "s": "BTCUSDT", "t": i, "p": f"{60000 + i}.01",
     "q": "0.001", "T": 999 + i, "m": i % 2 == 0, "M": True}
    for i in range(5000)
]  # fmt: skip


async def test_record_then_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "rec.jsonl.gz"
    recorder = Recorder(path)
    await recorder.start()
    for event in EVENTS:
        recorder.record(event)
    await recorder.stop()
    recorder.record(EVENTS[0])  # after stop: ignored
    assert recorder.recorded == len(EVENTS)
    assert recorder.failed is None
    with gzip.open(path, "rb") as handle:
        assert [json.loads(line) for line in handle] == EVENTS
    assert [e for _, e in read_recording(path)] == EVENTS


async def test_truncated_recording_keeps_what_was_flushed(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    recorder = Recorder(path)
    await recorder.start()
    for event in EVENTS[:100]:
        recorder.record(event)
    await recorder.stop()
    data = path.read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[:-12])  # a crash before the gzip trailer
    read = [e for _, e in read_recording(cut)]
    assert read == EVENTS[: len(read)]
    assert len(read) >= 90


def test_plain_jsonl_with_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    text = "\n".join(json.dumps(e) for e in EVENTS[:3]) + '\n{"e":"trade","s":"BTC'
    path.write_text(text)
    assert [e for _, e in read_recording(path)] == EVENTS[:3]


def test_consumed_trades_round_trip_as_trade_events() -> None:
    stream = Tick("BTCUSDT", 7, Decimal("65000.10000000"), Decimal("0.00000010"), 1000, True, 1234)
    backfilled = Tick("BTCUSDT", 8, Decimal("65000.2"), Decimal("0.5"), 1001, False)
    aggregate = Tick("ETHUSDT", 12, Decimal("3000.01"), Decimal("1.25"), 1002, False, count=3)
    events = [tick_event(t) for t in (stream, backfilled, aggregate)]
    assert events[0] == {"e": "trade", "s": "BTCUSDT", "t": 7, "p": "65000.10000000",
                         "q": "0.00000010", "T": 1000, "m": True, "r": 1234}  # fmt: skip
    assert events[1]["bf"] is True and "r" not in events[1]
    assert events[2]["e"] == "aggTrade" and (events[2]["f"], events[2]["l"]) == (10, 12)
    decoded = [recorded_tick(orjson.loads(orjson.dumps(e))) for e in events]
    assert decoded == [stream, backfilled, aggregate]
    assert decoded[0] is not None and str(decoded[0].qty) == str(
        stream.qty
    )  # the digits (and exponent) survive
    assert recorded_tick({"e": "position", "variant": "A"}) is None
    with pytest.raises(FrameError):
        recorded_tick({"e": "trade", "s": "BTCUSDT", "t": 1, "p": "x", "q": "1", "T": 1, "m": 1})


async def test_a_tear_inside_a_flushed_block_keeps_every_complete_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rec.jsonl.gz"
    recorder = Recorder(path)
    await recorder.start()
    for event in EVENTS:
        recorder.record(event)
    await recorder.stop()
    data = path.read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    read = [e for _, e in read_recording(cut)]
    assert 0 < len(read) < len(EVENTS) and read == EVENTS[: len(read)]
    # Every line complete in what survived is read (the torn one is not).
    complete = zlib.decompressobj(wbits=31).decompress(data[: len(data) // 2]).count(b"\n")
    assert len(read) == complete
    assert "recording ends early" in caplog.text


def _settings(tmp_path: Path) -> Settings:
    return load_settings(env_file=None, journal_path=tmp_path / "j.jsonl")


async def test_a_bad_line_of_a_recording_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    lines = [{"e": "recording", "v": 2, "symbols": ["BTCUSDT"]}, EVENTS[0], EVENTS[1],
             {**EVENTS[2], "p": "-1"}, EVENTS[3]]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = _settings(tmp_path)
    config = BacktestConfig([path], settings.variant_settings, settings.paper_fee_rate)
    with pytest.raises(BadDataFile, match=r"rec\.jsonl:4: .*non-positive price"):
        await run_backtest(settings, config)


async def test_an_outcome_no_signal_waits_for_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rec.jsonl"
    held = {"e": "position", "variant": "A", "s": "BTCUSDT", "q": "0.001", "p": "60000"}
    lines = [{"e": "recording", "v": 2, "symbols": ["BTCUSDT"]}, *EVENTS[:50], held]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = _settings(tmp_path)
    config = BacktestConfig([path], settings.variant_settings, settings.paper_fee_rate)
    result = await run_backtest(settings, config)
    assert result.ticks == 50 and result.journal == []
    assert "no signal of the replay waits for it" in caplog.text
