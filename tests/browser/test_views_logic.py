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


def test_research_offers_values_around_the_current_ones() -> None:
    out = run_js(
        "research.js",
        "return [M.suggestion(5), M.suggestion(1), M.suggestion(2.5), M.suggestion('0.15', true),"
        " M.suggestion('0.03', true), M.suggestion('0.97', true), M.suggestion('x')];",
    )
    assert out == ["3,5,7", "1,3", "2.5", "0.1,0.15,0.2", "0.01,0.03,0.08", "0.92,0.97", "x"]


def test_research_params_and_the_apply_body_are_what_the_routes_take() -> None:
    out = run_js(
        "research.js",
        "return [M.paramsOf({ema_period: ' 3, 5 ', sma_period: '', stop_loss: '0.1:0.2:0.05'},"
        " ['ema_period', 'sma_period', 'stop_loss']),"
        " M.applyBody({params: {ema_period: 5, sma_period: 15, stop_loss: '0.15'}}),"
        " M.applyBody({params: {stop_loss: '0.1'}}), M.applyBody(null)];",
    )
    assert out == [
        ["ema_period=3,5", "stop_loss=0.1:0.2:0.05"],
        {"stop_loss": "0.15", "parameters": {"ema_period": 5, "sma_period": 15}},
        {"stop_loss": "0.1"},
        {},
    ]


def test_research_results_are_the_summarys_figures_as_sent() -> None:
    backtest = {
        "kind": "backtest", "state": "done",
        "summary": {"metrics": {
            "A": {"return_pct": "-0.45", "trades": 15}, "B": {"return_pct": "1.20", "trades": 9},
            "all": {"return_pct": "0.37", "trades": 24}}},
    }  # fmt: skip
    optimize = {
        "kind": "optimize", "state": "stopped",
        "summary": {"trials": 12, "interrupted": True, "best": {
            "number": 8, "params": {"ema_period": 5, "sma_period": 15, "stop_loss": "0.15"},
            "metrics": {"return_pct": "-0.21", "max_drawdown_pct": "0.51", "trades": 13}}},
    }  # fmt: skip
    failed = {"kind": "backtest", "state": "failed", "error": "no stored candles of X yet"}
    running = {"kind": "optimize", "state": "running", "progress": {
        "search": "window 2", "done": 3, "total": 40, "best": "best #1 return 0.10%"}}  # fmt: skip
    out = run_js(
        "research.js",
        "return [...data.slice(0, 3).map(M.resultText), M.progressText(data[3]),"
        " M.progressText({kind: 'backtest', state: 'running', candles: 200}),"
        " M.progressText({kind: 'optimize', state: 'exporting'})];",
        [backtest, optimize, failed, running],
    )
    assert out == [
        "A -0.45 % (15 trades) · B 1.20 % (9 trades)",
        "best #8 of 12: ema_period=5 sma_period=15 stop 15 % · return -0.21 % · drawdown 0.51 %"
        " · 13 trades (stopped early)",
        "no stored candles of X yet",
        "window 2: 3 / 40 trials · best #1 return 0.10%",
        "replaying 200 candles…",
        "reading the stored candles…",
    ]


STORE = VIEWS.parent / "store.js"


def test_the_store_keeps_the_servers_state_from_rest_and_ws() -> None:
    """REST reads, then /ws events in the API's shapes: the store holds exactly what they say."""
    candle = {"open_time": 60_000, "open": "10", "high": "12", "low": "9", "close": "11",
              "volume": "2"}  # fmt: skip
    out = run_module(
        STORE,
        "const d = {}; const s = M.createStore(d);"
        "s.loaded({health: {status: 'ok'}, symbols: [{symbol: 'BTCUSDT', last_price: '10.5'}],"
        " strategy: {variants: [{name: 'A'}]}, positions: [], trades: [], signals: []});"
        "const first = d.prices.BTCUSDT;"
        "s.candlesRead('BTCUSDT', {candles: [data], open_candle: {...data, open_time: 120000,"
        " close: '11.5'}});"
        "const afterRead = d.prices.BTCUSDT;"
        "const older = s.closed({...data, symbol: 'BTCUSDT', open_time: 0});"  # unknown, older
        "const next = s.closed({...data, symbol: 'BTCUSDT', open_time: 120000, close: '13'});"
        "const again = s.closed({...data, symbol: 'BTCUSDT', open_time: 120000, close: '14'});"
        "const stale = s.live({...data, symbol: 'BTCUSDT', open_time: 60000, close: '1'});"
        "const live = s.live({...data, symbol: 'BTCUSDT', open_time: 180000, close: '15'});"
        "const badTick = s.tick({symbol: 'BTCUSDT', price: 'x'});"
        "s.position({variant: 'A', symbol: 'BTCUSDT', qty: '1'});"
        "s.position({variant: 'A', symbol: 'BTCUSDT', qty: '0'});"
        "s.trade({client_order_id: 'c1', executed_qty: '1'});"
        "s.trade({client_order_id: 'c1', executed_qty: '2'});"
        "for (let i = 0; i < 2001; i++) s.signal({n: i});"
        "s.status({symbols: {BTCUSDT: {status: 'live'}}});"
        "s.snapshot({positions: [{variant: 'B', symbol: 'X', qty: '3'}]});"
        "return {first, afterRead, older, next, again, stale, live, badTick,"
        " closes: d.candles.BTCUSDT.map((c) => [c.time, c.close]), open: d.open.BTCUSDT.close,"
        " price: d.prices.BTCUSDT, trades: d.trades, positions: d.positions,"
        " signals: [d.signals.length, d.signals[0].n], health: d.health,"
        " variants: d.variants.map((v) => v.name), symbols: d.symbols};",
        candle,
    )
    assert out == {
        "first": 10.5, "afterRead": 11.5, "older": False, "next": True, "again": True,
        "stale": False, "live": True, "badTick": False,
        "closes": [[60_000, 11], [120_000, 14]], "open": 15, "price": 15,
        "trades": [{"client_order_id": "c1", "executed_qty": "2"}],
        "positions": [{"variant": "B", "symbol": "X", "qty": "3"}],
        "signals": [1001, 1000],
        "health": {"status": "ok", "symbols": {"BTCUSDT": {"status": "live"}}},
        "variants": ["A"], "symbols": ["BTCUSDT"],
    }  # fmt: skip


def test_a_pause_sets_the_variants_state_in_a_new_health_until_the_next_read() -> None:
    """POST /variants/{name}/pause answers with the state: the store's health shows it (a new
    object, so a view holding the old one sees it changed), the other variants untouched."""
    out = run_module(
        STORE,
        "const d = {}; const s = M.createStore(d);"
        "s.variantState('A', 'paused', 'x'); const before = d.health;"  # no health read yet
        "s.health({status: 'ok', variants: [{variant: 'A', state: 'active', reason: null},"
        " {variant: 'B', state: 'active', reason: null}]});"
        "const held = d.health;"
        "s.variantState('A', 'paused', 'paused by a person');"
        "return {before, same: held === d.health, variants: d.health.variants,"
        " old: held.variants[0].state};",
    )
    assert out == {
        "before": None, "same": False, "old": "active",
        "variants": [
            {"variant": "A", "state": "paused", "reason": "paused by a person"},
            {"variant": "B", "state": "active", "reason": None},
        ],
    }  # fmt: skip
