"""A recorded `--simulate` run, replayed by `backtest`, gives the same orders (same
deterministic client order ids, sides, quantities and reasons) as the journal of the run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backtest.recorder import read_recording
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def _key(rec: dict[str, object]) -> tuple[object, ...]:
    return (rec["type"], rec["client_order_id"], rec["side"], rec["quantity"], rec["reason"])


def test_recorded_simulation_replays_to_the_same_journal(tmp_path: Path) -> None:
    rec, journal, replay = tmp_path / "run.rec.gz", tmp_path / "live.jsonl", tmp_path / "re.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "--simulate", "--speed", "240", "--port", "0",
         "--record", str(rec), "--journal", str(journal)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(20)  # ~80 market minutes at speed 240
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    kinds = {event.get("e") for _, event in read_recording(rec)}
    if not {"warmup", "symbolInfo"} <= kinds:
        pytest.xfail(
            "the service records trades but not its warm-up klines / symbol rules yet"
            " (Recorder.record_warmup / record_symbol_info): signals before the indicators"
            " converge and sell quantities cannot match"
        )
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "backtest", "--data", str(rec),
         "--journal", str(replay)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    live = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    again = [json.loads(line) for line in replay.read_text().splitlines() if line.strip()]
    assert len(live) >= 4, "the run made too few orders to compare"
    replayed = [_key(r) for r in again if r["reason"] != "end_of_data"]
    assert sorted(_key(r) for r in live) == sorted(replayed)
