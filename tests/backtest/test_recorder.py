"""The recorder writes raw events off the loop and reads them back, torn tail included."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from backtest.recorder import Recorder, read_recording

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
