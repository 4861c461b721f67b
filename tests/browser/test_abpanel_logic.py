"""The A/B panel's pure helpers (api/static/abpanel.js), run by node on hand-worked cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.support import NODE, run_module

PANEL = Path(__file__).resolve().parents[2] / "api" / "static" / "abpanel.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(body: str) -> object:
    return run_module(PANEL, body)


def test_equity_marks_become_rising_chart_rows() -> None:
    points = [
        {"time_ms": 1_000, "equity": "1000"},
        {"time_ms": 1_400, "equity": "999.5"},  # same second: the later mark wins
        {"time_ms": 2_000, "equity": "1001.25"},
        {"time_ms": 1_500, "equity": "7"},  # older than the last row: dropped
        {"time_ms": "x", "equity": "1"},
    ]
    rows = run_js(f"return M.equityRows({json.dumps(points)});")
    assert rows == [{"time": 1, "value": 999.5}, {"time": 2, "value": 1001.25}]


def test_hold_times_read_as_durations() -> None:
    out = run_js("return [M.holdText(42.9), M.holdText(200), M.holdText(3900), M.holdText(null)];")
    assert out == ["42s", "3m 20s", "1h 05m", "—"]


def test_close_all_asks_true_to_the_pause_and_answers_in_words() -> None:
    out = run_js(
        "return [M.closeAllQuestion('A', true), M.closeAllQuestion('B', false),"
        " M.closeAllText('A', {closed: [], refused: {}}),"
        " M.closeAllText('B', {closed: ['BTCUSDT', 'ETHUSDT'], refused: {}}),"
        " M.closeAllText('A', {closed: ['BTCUSDT'], refused: {ETHUSDT: 'below min notional'}})];"
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
        f"return [M.rangeWindow('6h', 0, {48 * h}), M.rangeWindow('24h', {40 * h}, {48 * h}),"
        f" M.rangeWindow('all', 0, {48 * h}), M.rangeWindow('6h', NaN, 5),"
        " M.lineLook(0), M.lineLook(1), M.lineLook(2)];"
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
