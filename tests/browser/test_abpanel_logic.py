"""The A/B panel's pure helpers (api/static/abpanel.js), run by node on hand-worked cases."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

NODE = shutil.which("node")
PANEL = Path(__file__).resolve().parents[2] / "api" / "static" / "abpanel.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(body: str) -> object:
    script = (
        f"import * as P from {json.dumps(PANEL.as_uri())};\n"
        f"process.stdout.write(JSON.stringify((() => {{ {body} }})()));\n"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_equity_marks_become_rising_chart_rows() -> None:
    points = [
        {"time_ms": 1_000, "equity": "1000"},
        {"time_ms": 1_400, "equity": "999.5"},  # same second: the later mark wins
        {"time_ms": 2_000, "equity": "1001.25"},
        {"time_ms": 1_500, "equity": "7"},  # older than the last row: dropped
        {"time_ms": "x", "equity": "1"},
    ]
    rows = run_js(f"return P.equityRows({json.dumps(points)});")
    assert rows == [{"time": 1, "value": 999.5}, {"time": 2, "value": 1001.25}]


def test_hold_times_read_as_durations() -> None:
    out = run_js("return [P.holdText(42.9), P.holdText(200), P.holdText(3900), P.holdText(null)];")
    assert out == ["42s", "3m 20s", "1h 05m", "—"]


def test_close_all_asks_true_to_the_pause_and_answers_in_words() -> None:
    out = run_js(
        "return [P.closeAllQuestion('A', true), P.closeAllQuestion('B', false),"
        " P.closeAllText('A', {closed: [], refused: {}}),"
        " P.closeAllText('B', {closed: ['BTCUSDT', 'ETHUSDT'], refused: {}}),"
        " P.closeAllText('A', {closed: ['BTCUSDT'], refused: {ETHUSDT: 'below min notional'}})];"
    )
    assert isinstance(out, list)
    assert "stays paused" in out[0] and "not paused" not in out[0]
    assert "It is not paused: its strategy may open again." in out[1]
    assert out[2:] == [
        "Variant A: nothing was open to close",
        "Variant B: closed BTCUSDT, ETHUSDT",
        "Variant A: closed BTCUSDT; refused ETHUSDT: below min notional",
    ]


def test_range_windows_end_at_the_newest_mark_and_start_no_earlier_than_the_first() -> None:
    h = 3600
    out = run_js(
        f"return [P.rangeWindow('6h', 0, {48 * h}), P.rangeWindow('24h', {40 * h}, {48 * h}),"
        f" P.rangeWindow('all', 0, {48 * h}), P.rangeWindow('6h', NaN, 5),"
        " P.lineLook(0), P.lineLook(1), P.lineLook(2)];"
    )
    assert out == [
        {"from": 42 * h, "to": 48 * h},
        {"from": 40 * h, "to": 48 * h},  # less than a day of run: all of it
        None,  # the whole run: fitted
        None,
        {"lineWidth": 3, "lineStyle": 0},
        {"lineWidth": 2, "lineStyle": 2},
        {"lineWidth": 2, "lineStyle": 2},
    ]
