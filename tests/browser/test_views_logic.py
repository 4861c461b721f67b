"""The pure helpers of the page's view modules (api/static/views/*.js), run by node on
hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.support import NODE, run_module

VIEWS = Path(__file__).resolve().parents[2] / "api" / "static" / "views"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(module: str, body: str, data: object = None) -> object:
    return run_module(VIEWS / module, body, data)


def test_percent_becomes_an_exact_fraction() -> None:
    cases = ["12.5", "15", "0.5", "100", "7.25", ".5", "abc", "", "1e3"]
    out = run_js("variantedit.js", "return data.map(M.percentToFraction);", cases)
    assert out == ["0.125", "0.15", "0.005", "1", "0.0725", "0.005", "abc", "", "1e3"]


def test_the_patch_holds_only_what_changed() -> None:
    variant = {"name": "A", "stop_loss": "0.15", "parameters": {"ema_period": 5, "sma_period": 10}}
    out = run_js(
        "variantedit.js",
        "const v = data; return ["
        " M.patchBody(v, {stop_loss_pct: '15', ema_period: '5', sma_period: '10'}),"
        " M.patchBody(v, {stop_loss_pct: '12.5', ema_period: '5', sma_period: '10'}),"
        " M.patchBody(v, {stop_loss_pct: '15', ema_period: '4', sma_period: ' 10 '}),"
        " M.patchBody(v, {stop_loss_pct: '', ema_period: 'x', sma_period: ''})];",
        variant,
    )
    assert out == [
        None,
        {"stop_loss": "0.125"},
        {"parameters": {"ema_period": 4}},
        {"parameters": {"ema_period": "x"}},  # sent as typed: the service says why not
    ]


def test_refusals_land_at_the_field_they_name() -> None:
    fields = ["stop_loss", "ema_period", "sma_period"]
    out = run_js(
        "variantedit.js",
        "return [M.fieldErrors([{loc: ['body', 'stop_loss'], msg: 'less than 1'}], data),"
        " M.fieldErrors('ema_sma: ema_period must be shorter than sma_period', data),"
        " M.fieldErrors('sma_period: 0 is below 1', data),"
        " M.fieldErrors('sma_period must be longer than ema_period', data),"
        " M.fieldErrors('the exchange is down', data)];",
        fields,
    )
    assert out == [
        [{"field": "stop_loss", "text": "less than 1"}],
        # Both are named: the one the sentence names first.
        [{"field": "ema_period", "text": "ema_sma: ema_period must be shorter than sma_period"}],
        [{"field": "sma_period", "text": "sma_period: 0 is below 1"}],
        [{"field": "sma_period", "text": "sma_period must be longer than ema_period"}],
        [{"field": None, "text": "the exchange is down"}],
    ]


def test_round_trips_export_as_rfc4180_csv_with_the_servers_fields() -> None:
    rows = [
        {"variant": "A", "symbol": "BTCUSDT", "pnl": "-1.5", "exit_reason": 'stop, "hard"'},
        {"variant": "B", "symbol": "ETHUSDT", "pnl": "2", "exit_reason": "signal"},
    ]
    text = run_js("results.js", "return M.tripsCsv(data);", rows)
    assert isinstance(text, str)
    lines = text.split("\r\n")
    assert lines[0].startswith("variant,symbol,entry_time_iso,entry_price,")
    assert lines[1].startswith("A,BTCUSDT,,,,,,,-1.5,,,")
    assert lines[1].endswith(',"stop, ""hard""",,')
    assert lines[2].startswith("B,ETHUSDT,") and lines[3] == ""


def test_periods_become_rows_newest_first_with_the_largest_move_as_scale() -> None:
    doc = {
        "periods": [
            {"variant": "A", "start_ms": 0, "label": "d0", "realized_pnl": "-3.5", "fills": 2},
            {"variant": "B", "start_ms": 0, "label": "d0", "realized_pnl": "1", "fills": 1},
            {"variant": "A", "start_ms": 86400000, "label": "d1", "realized_pnl": "2", "fills": 4},
        ]
    }
    out = run_js("results.js", "return M.periodTable(data);", doc)
    assert out == {
        "rows": [
            {"label": "d1", "start": 86400000, "cells": {"A": {"pnl": "2", "fills": 4}}},
            {
                "label": "d0",
                "start": 0,
                "cells": {"A": {"pnl": "-3.5", "fills": 2}, "B": {"pnl": "1", "fills": 1}},
            },
        ],
        "most": 3.5,
    }


def test_log_lines_merge_newest_first_once_each() -> None:
    old = [
        {"time_ms": 2, "logger": "a", "message": "two"},
        {"time_ms": 1, "logger": "a", "message": "one"},
    ]
    added = [
        {"time_ms": 2, "logger": "a", "message": "two"},  # seen (a snapshot after events)
        {"time_ms": 3, "logger": "b", "message": "three"},
    ]
    out = run_js(
        "logview.js", "return M.mergeLines(data.old, data.added, 3);", {"old": old, "added": added}
    )
    assert isinstance(out, list) and [x["message"] for x in out] == ["three", "two", "one"]
    capped = run_js(
        "logview.js", "return M.mergeLines(data.old, data.added, 2);", {"old": old, "added": added}
    )
    assert isinstance(capped, list) and [x["message"] for x in capped] == ["three", "two"]
