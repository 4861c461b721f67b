"""The dashboard's pure logic (api/static/logic.js), run by node against independent references.

The 5m/15m bars and the EMA/SMA lines are checked against pandas on Binance's real 1m klines;
the other helpers against hand-worked cases. Skipped only when node is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

LOGIC = Path(__file__).resolve().parents[2] / "api" / "static" / "logic.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(body: str, data: object = None, tz: str = "UTC") -> object:
    """Runs `body` (JS, may use `L` = logic.js and `data`) in node, in time zone `tz`; returns
    what it `return`s."""
    script = (
        f"import * as L from {json.dumps(LOGIC.as_uri())};\n"
        f"const data = JSON.parse(process.argv[1]);\n"
        f"const out = (() => {{ {body} }})();\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script, json.dumps(data)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "TZ": tz},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def klines(binance_data: Path) -> list[list[object]]:
    path = binance_data / "testnet-btcusdt-2026-06-15" / "klines_1m.json"
    rows: list[list[object]] = json.loads(path.read_text())
    return rows[:-1]  # the last row is the still-open candle


def _pandas_bars(rows: list[list[object]], minutes: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "time": [int(str(r[0])) for r in rows],
            "open": [float(str(r[1])) for r in rows],
            "high": [float(str(r[2])) for r in rows],
            "low": [float(str(r[3])) for r in rows],
            "close": [float(str(r[4])) for r in rows],
            "volume": [float(str(r[5])) for r in rows],
        }
    )
    frame.index = pd.to_datetime(frame["time"], unit="ms", utc=True)
    bars = frame.resample(f"{minutes}min").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    bars = bars.dropna()
    bars["time"] = bars.index.as_unit("ms").asi8
    return bars.reset_index(drop=True)


@pytest.mark.parametrize("minutes", [5, 15])
def test_aggregate_equals_pandas_resample_of_real_klines(klines, minutes):
    got = run_js(
        "const api = (r) => ({open_time: r[0], open: r[1], high: r[2], low: r[3], close: r[4],"
        " volume: r[5]});"  # each kline as the API's CandleOut
        f" return L.aggregate(data.map((r) => L.normCandle(api(r))), {minutes});",
        klines,
    )
    expected = _pandas_bars(klines, minutes)
    assert isinstance(got, list)
    assert len(got) == len(expected) > 30
    for bar, (_, row) in zip(got, expected.iterrows(), strict=True):
        assert bar["time"] == row["time"]
        assert bar["time"] % (minutes * 60_000) == 0
        for field in ("open", "high", "low", "close"):
            assert bar[field] == row[field]
        assert bar["volume"] == pytest.approx(row["volume"], rel=1e-12)


def test_aggregate_one_minute_keeps_candles_and_replaces_a_repeated_minute():
    candles = [
        {"time": 120_000, "open": 2, "high": 3, "low": 1, "close": 2, "volume": 1},
        {"time": 60_000, "open": 1, "high": 2, "low": 1, "close": 2, "volume": 1},
        {"time": 120_000, "open": 2, "high": 4, "low": 1, "close": 3, "volume": 2},
    ]
    got = run_js("return L.aggregate(data, 1);", candles)
    assert got == [candles[1], candles[2]]


def test_live_bar_merges_the_open_minute_into_the_current_bar():
    bars = [{"time": 300_000, "open": 10, "high": 12, "low": 9, "close": 11, "volume": 5}]
    open_in = {"time": 420_000, "open": 11, "high": 15, "low": 10, "close": 14, "volume": 2}
    open_next = {"time": 600_000, "open": 14, "high": 14, "low": 13, "close": 13, "volume": 1}
    got = run_js(
        "return [L.liveBar(data.bars, data.a, 5), L.liveBar(data.bars, data.b, 5),"
        " L.liveBar(data.bars, data.a, 1)];",
        {"bars": bars, "a": open_in, "b": open_next},
    )
    assert got == [
        {"time": 300_000, "open": 10, "high": 15, "low": 9, "close": 14, "volume": 7},
        {**open_next, "time": 600_000},
        open_in,
    ]


def test_seq_tracker_notices_gaps_and_ignores_repeats():
    got = run_js("const t = new L.SeqTracker(); return [5, 6, 6, 9, 10, 3].map((s) => t.check(s));")
    assert got == ["ok", "ok", "old", "gap", "ok", "old"]


def test_change_24h_uses_the_first_candle_within_24_hours():
    day = 24 * 60 * 60_000
    now = 10 * day
    candles = [
        {"time": now - day - 60_000, "open": 50, "close": 50},
        {"time": now - day + 120_000, "open": 100, "close": 101},
        {"time": now - 60_000, "open": 108, "close": 110},
    ]
    full = [{"time": now - day + 60_000, "open": 100, "close": 101}, candles[2]]
    got = run_js(
        "return [L.change24h(data.c, 110, data.now), L.change24h(data.c.slice(1), NaN, data.now),"
        " L.change24h(data.full, 110, data.now)];",
        {"c": candles, "now": now, "full": full},
    )
    assert got == [
        {"last": 110, "change": 10, "pct": 10, "since": "24h"},
        {"last": 110, "change": 10, "pct": 10, "since": "start"},  # two minutes short of a day
        # The 1,440 newest closed minutes: a whole day, whatever second of the minute it is.
        {"last": 110, "change": 10, "pct": 10, "since": "24h"},
    ]


def test_trade_markers_are_sorted_coloured_and_on_the_bar_start():
    trades = [
        {"variant": "B", "symbol": "BTCUSDT", "side": "SELL", "fill_time_ms": 610_000},
        {
            "variant": "A",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "fill_time_ms": None,
            "signal_time_ms": 370_000,
        },
        {"variant": "A", "symbol": "ETHUSDT", "side": "BUY", "fill_time_ms": 1_000},
    ]
    got = run_js("return L.tradeMarkers(data, 'BTCUSDT', 5, {A: 'blue', B: 'pink'});", trades)
    assert got == [
        {"time": 300, "position": "belowBar", "shape": "arrowUp", "color": "blue", "text": "A"},
        {
            "time": 600,
            "position": "aboveBar",
            "shape": "arrowDown",
            "color": "pink",
            "text": "B",
        },
    ]


def test_markers_of_a_busy_bar_are_one_per_variant_and_side_with_a_count():
    fills = [
        {"variant": v, "symbol": "BTCUSDT", "side": side, "fill_time_ms": 3_600_000 + i * 60_000}
        for i, (v, side) in enumerate(
            [("A", "BUY"), ("A", "SELL"), ("A", "BUY"), ("B", "BUY"), ("A", "SELL"), ("A", "BUY")]
        )
    ] + [{"variant": "A", "symbol": "BTCUSDT", "side": "BUY", "fill_time_ms": 7_200_000}]
    got = run_js(
        "return [L.tradeMarkers(data, 'BTCUSDT', 60, {A: 'blue', B: 'pink'}).map("
        "(m) => [m.time, m.shape, m.text]), L.fillLines(data.slice(0, 2)).map((l) => l.count),"
        " L.fillLines(data.slice(0, 6)).map((l) => [l.variant, l.side, l.count, l.fill?.side])];",
        fills,
    )
    assert got == [
        [
            [3600, "arrowUp", "A ×3"],
            [3600, "arrowDown", "A ×2"],
            [3600, "arrowUp", "B"],
            [7200, "arrowUp", "A"],
        ],
        [1, 1],  # two fills: each its own line (with quantity and price)
        [["A", "BUY", 3, None], ["A", "SELL", 2, None], ["B", "BUY", 1, "BUY"]],  # one: its fill
    ]


def test_signal_filters_and_order_validation():
    signals = [
        {"symbol": "BTCUSDT", "variant": "A", "side": "BUY"},
        {"symbol": "ETHUSDT", "variant": "A", "side": "SELL"},
        {"symbol": "BTCUSDT", "variant": "B", "side": "SELL"},
    ]
    got = run_js(
        """
        const syms = ['BTCUSDT'], vars = ['A', 'B'];
        const ok = {symbol: 'BTCUSDT', side: 'BUY', quantity: '0.001', variant: 'A'};
        return [
          L.filterSignals(data, {symbol: 'BTCUSDT'}).length,
          L.filterSignals(data, {variant: 'A', action: 'SELL'}).map((s) => s.symbol),
          L.validateOrder(ok, syms, vars),
          L.validateOrder({...ok, quantity: '-1'}, syms, vars),
          L.validateOrder({...ok, quantity: '0'}, syms, vars),
          L.validateOrder({...ok, quantity: '1e3'}, syms, vars),
          L.validateOrder({...ok, variant: 'C'}, syms, vars),
          L.validateOrder({...ok, symbol: 'XRPUSDT'}, syms, vars),
        ];
        """,
        signals,
    )
    assert got == [
        2,
        ["ETHUSDT"],
        None,
        "quantity must be positive",  # -1 is a number, just not a quantity
        "quantity must be positive",
        "quantity must be a decimal number",
        "unknown variant C",
        "unknown symbol XRPUSDT",
    ]


def test_ws_url_feed_status_and_backoff():
    got = run_js(
        """
        const loc = {protocol: 'https:', host: 'h:1'};
        const health = (s) => ({symbols: {BTCUSDT: {status: s}}});
        return [
          L.wsUrl(loc, 'a b&c'), L.wsUrl({protocol: 'http:', host: 'h'}, ''),
          L.feedStatus(false, health('live'), 0), L.feedStatus(true, health('live'), 0),
          L.feedStatus(true, health('backfilling'), 0), L.feedStatus(true, health('stale'), 0),
          [0, 1, 5, 30].map((a) => L.backoffMs(a, () => 0.5)),
        ];
        """
    )
    assert got == [
        "wss://h:1/ws?token=a%20b%26c",
        "ws://h/ws",
        "reconnecting",
        "live",
        "reconnecting",
        "stale",
        [500, 800, 5243, 10000],
    ]


def test_times_in_utc_and_in_local_time_with_chart_ticks():
    # 2026-06-15 23:58:09.500 UTC is already the 16th in Kolkata (UTC+05:30).
    ms = 1781567889500
    body = """
        return [L.formatTime(data, 'utc'), L.formatTime(data, 'local'),
                L.formatMinute(data, 'utc'), L.formatMinute(data, 'local'),
                [0, 1, 2, 3, 4].map((k) => L.tickText(data / 1000, k, 'local')),
                L.formatTime(0, 'utc'), L.tzLabel('utc'), L.tzLabel('local')];
    """
    got = run_js(body, ms, tz="Asia/Kolkata")
    utc = datetime.fromtimestamp(ms / 1000, tz=UTC)
    local = datetime.fromtimestamp(ms / 1000, tz=ZoneInfo("Asia/Kolkata"))
    assert got == [
        utc.strftime("%m-%d %H:%M:%S"),
        local.strftime("%m-%d %H:%M:%S"),
        utc.strftime("%Y-%m-%d %H:%M"),
        local.strftime("%Y-%m-%d %H:%M"),
        [
            local.strftime("%Y"),
            local.strftime("%Y-%m"),
            local.strftime("%m-%d"),
            local.strftime("%H:%M"),
            local.strftime("%H:%M:%S"),
        ],
        "—",
        "UTC",
        "local",
    ]
    assert got[0] == "06-15 23:58:09" and got[1] == "06-16 05:28:09"


def test_countdown_fills_in_a_bar_and_symbols():
    trades = [
        {"symbol": "BTCUSDT", "fill_time_ms": 1_000_299_999, "side": "BUY"},
        {"symbol": "BTCUSDT", "fill_time_ms": 1_000_200_000, "side": "SELL"},
        {"symbol": "BTCUSDT", "fill_time_ms": 1_000_500_000, "side": "BUY"},
        {"symbol": "ETHUSDT", "fill_time_ms": 1_000_250_000, "side": "BUY"},
    ]
    got = run_js(
        """
        return [L.countdownText(10_000, 3_850), L.countdownText(10_000, 9_990),
                L.countdownText(10_000, 12_000),
                L.fillsInBar(data, 'BTCUSDT', 5, 1_000_200_000).map((t) => t.fill_time_ms),
                L.fillsInBar(data, 'BTCUSDT', 1, 1_000_260_000).map((t) => t.fill_time_ms),
                [' bnbusdt ', 'BTC', 'BTC-USDT', 'ETHBTC'].map(L.cleanSymbol)];
        """,
        trades,
    )
    # 5-minute bars start at multiples of 300,000 ms: 1,000,200,000 .. 1,000,499,999.
    assert got == [
        "reconnecting in 6.2 s…",
        "reconnecting…",
        "reconnecting…",
        [1_000_200_000, 1_000_299_999],
        [1_000_299_999],
        ["BNBUSDT", None, None, "ETHBTC"],
    ]


def test_toast_spot_is_the_first_corner_that_covers_no_control():
    view = {"width": 1000, "height": 800}
    size = {"width": 300, "height": 100}
    got = run_js(
        """
        const {view, size} = data;
        const r = (left, top, right, bottom) => ({left, top, right, bottom});
        const spot = (controls) => L.toastSpot(size, view, 50, controls)?.spot ?? null;
        return [
          spot([]),
          spot([r(900, 750, 990, 780)]),                       // a button bottom-right
          spot([r(900, 750, 990, 780), r(950, 70, 980, 90)]),  // and one top-right
          spot([r(0, 0, 1000, 800)]),                          // controls everywhere
          L.toastSpot(size, view, 50, []).rect,
          L.overlaps(r(0, 0, 10, 10), r(10, 0, 20, 10)),       // touching edges only
          L.overlaps(r(0, 0, 10, 10), r(9, 9, 20, 20)),
        ];
        """,
        {"view": view, "size": size},
    )
    assert got == [
        "bottom-right",
        "top-right",
        "bottom-left",
        None,
        {"left": 688, "top": 688, "right": 988, "bottom": 788},
        False,
        True,
    ]


def test_view_bars_take_the_services_closed_bars_then_the_pages_newer_ones():
    server = [{"time": 0, "close": 1}, {"time": 900_000, "close": 2}]
    local = [{"time": 900_000, "close": 20}, {"time": 1_800_000, "close": 3}]
    got = run_js(
        """
        return [L.mergeBars(data.server, data.local).map((b) => [b.time, b.close]),
                L.mergeBars([], data.local).map((b) => b.close),
                [840_000, 780_000, 3_540_000].map((t) => L.closesBar(t, 15)),
                L.closesBar(3_540_000, 60)];
        """,
        {"server": server, "local": local},
    )
    assert got == [[[0, 1], [900_000, 2], [1_800_000, 3]], [20, 3], [True, False, True], True]


def test_a_closed_bar_from_the_websocket_replaces_or_joins_the_services_bars():
    got = run_js(
        """
        const times = (list) => list.map((b) => [b.time, b.close]);
        const list = [{ time: 0, close: 1 }, { time: 300, close: 2 }];
        const out = [];
        out.push(L.upsertBar(list, { time: 600, close: 3 }), times(list));  // newer: appended
        out.push(L.upsertBar(list, { time: 300, close: 9 }), times(list));  // same: replaced
        const gap = [{ time: 0, close: 1 }, { time: 600, close: 3 }];
        out.push(L.upsertBar(gap, { time: 300, close: 2 }), times(gap));  // missing: in place
        const full = [{ time: 300, close: 2 }, { time: 600, close: 3 }];
        out.push(L.upsertBar(full, { time: 0, close: 1 }, 2), times(full));  // older than all
        out.push(L.upsertBar(full, { time: 900, close: 4 }, 2), times(full));  // oldest dropped
        return out;
        """
    )
    assert got == [
        True, [[0, 1], [300, 2], [600, 3]],
        True, [[0, 1], [300, 9], [600, 3]],
        True, [[0, 1], [300, 2], [600, 3]],
        False, [[300, 2], [600, 3]],
        True, [[600, 3], [900, 4]],
    ]  # fmt: skip
