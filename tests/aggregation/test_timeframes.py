"""Higher timeframes rolled up from 1-minute candles equal Binance's klines of each interval.

Against the recorded testnet data: the official 1m klines rolled up by an independent
computation, and our own candles built from the recorded trades rolled up by `Rollup`.
The rules (alignment, empty minutes, incomplete intervals) on crafted minutes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle, CandleSource
from aggregation.timeframes import INTERVALS, Rollup, interval_ms, roll_up, roll_up_with_open
from aggregation.warmup import kline_to_candle
from data_ingestion.backfill import agg_trade_to_tick, rest_trade_to_tick

DATA = "testnet-btcusdt-2026-06-15"
HIGHER = [name for name in INTERVALS if name != "1m"]


def binance_rollup(rows: list[list[Any]], length: int) -> dict[int, list[Any]]:
    """Independent oracle: klines of `length` ms from 1m kline rows, as Binance builds them
    from trades (minutes without trades set no price), full intervals only."""
    groups: dict[int, list[list[Any]]] = {}
    for row in rows:
        groups.setdefault(row[0] - row[0] % length, []).append(row)
    out: dict[int, list[Any]] = {}
    for start, members in groups.items():
        if len(members) != length // 60_000:
            continue
        traded = [r for r in members if r[8] > 0] or members[:1]
        out[start] = [
            Decimal(traded[0][1]),
            max(Decimal(r[2]) for r in traded),
            min(Decimal(r[3]) for r in traded),
            Decimal(traded[-1][4]),
            sum(Decimal(r[5]) for r in members),
            sum(Decimal(r[7]) for r in members),
            sum(int(r[8]) for r in members),
            sum(Decimal(r[9]) for r in members),
            sum(Decimal(r[10]) for r in members),
        ]
    return out


def fields(c: Candle) -> list[Any]:
    return [
        c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trades, c.taker_buy_base,
        c.taker_buy_quote,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def kline_rows(binance_data: Path) -> list[list[Any]]:
    rows: list[list[Any]] = json.loads((binance_data / DATA / "klines_1m.json").read_text())
    return rows[:-1]  # the last row is the still-open minute


@pytest.mark.parametrize("name", HIGHER)
def test_rolled_up_testnet_klines_equal_an_independent_rollup(
    kline_rows: list[list[Any]], name: str
) -> None:
    length = interval_ms(name)
    minutes = [kline_to_candle("BTCUSDT", r) for r in kline_rows]
    got = roll_up(minutes, name)
    want = binance_rollup(kline_rows, length)
    complete = [c for c in got if c.complete]
    assert {c.open_time for c in complete} == set(want)
    for c in complete:
        assert fields(c) == want[c.open_time], (name, c.open_time)
        assert c.open_time % length == 0 and c.close_time == c.open_time + length - 1
        assert c.interval_ms == length and c.source is CandleSource.WARMUP
        assert c.to_kline_row()[6] == c.close_time
    # The intervals cut by the window's edges are there, and flagged incomplete.
    assert all(not c.complete for c in got if c.open_time not in want)
    if name in ("3m", "5m", "15m", "30m", "1h"):
        assert len(complete) >= 8 - (name == "1h")  # 499 minutes: 7 full hours


@pytest.mark.parametrize("trades_file", ["trades.json", "aggTrades.json"])
@pytest.mark.parametrize("name", ["3m", "5m"])
def test_candles_from_recorded_trades_roll_up_to_binances_klines(
    binance_data: Path, kline_rows: list[list[Any]], trades_file: str, name: str
) -> None:
    rows = json.loads((binance_data / DATA / trades_file).read_text())
    if trades_file == "aggTrades.json":  # aggregated rows: same candle fields, trade count l-f+1
        ticks = [agg_trade_to_tick("BTCUSDT", r) for r in rows]
    else:
        ticks = [rest_trade_to_tick("BTCUSDT", r) for r in rows]
    closed: list[Candle] = []
    aggregator = CandleAggregator(on_close=closed.append)
    for tick in ticks:
        aggregator.add_tick(tick)
    length = interval_ms(name)
    rollup = Rollup("BTCUSDT", length)
    ours = [bar for minute in closed for bar in rollup.add(minute)]
    # Our first minute is partial (the slice starts inside it): the interval holding it is
    # incomplete unless the slice started on the interval's first millisecond.
    first_full = (closed[0].open_time // length + 1) * length
    comparable = [c for c in ours if c.open_time >= first_full]
    want = binance_rollup(kline_rows, length)
    assert len(comparable) >= 2
    for c in comparable:
        assert c.complete
        assert fields(c) == want[c.open_time], (trades_file, name, c.open_time)


T0 = 1_781_481_600_000  # 2026-06-15 00:00 UTC: a day, 4h, 1h … boundary
M = 60_000


def minute(i: int, o: str, h: str, lo: str, c: str, n: int = 1, **kw: Any) -> Candle:
    vol = Decimal(n)
    return Candle(
        "BTCUSDT", T0 + i * M, Decimal(o), Decimal(h), Decimal(lo), Decimal(c), vol,
        vol * Decimal(c), n, vol / 2, vol * Decimal(c) / 2, **kw,
    )  # fmt: skip


def flat(i: int, price: str) -> Candle:
    return minute(i, price, price, price, price, n=0)


def test_alignment_is_utc_epoch_for_every_interval() -> None:
    assert T0 % interval_ms("1d") == 0
    for name, length in INTERVALS.items():
        rollup = Rollup("BTCUSDT", length) if length > M else None
        if rollup is None:
            continue
        bars: list[Candle] = []
        for i in range(length // M):
            bars += rollup.add(minute(i, "100", "101", "99", "100"))
        assert [(b.open_time, b.close_time, b.complete) for b in bars] == [
            (T0, T0 + length - 1, True)
        ], name
    with pytest.raises(ValueError, match="interval '2m' is not one of 1m, 3m"):
        interval_ms("2m")


def test_an_interval_closes_on_its_last_minute_with_binances_fields() -> None:
    rollup = Rollup("BTCUSDT", 3 * M)
    assert rollup.add(minute(0, "100", "105", "99", "104")) == ()
    assert rollup.add(minute(1, "104", "104", "97", "98", n=2)) == ()
    (bar,) = rollup.add(minute(2, "98", "101", "98", "100", n=3))
    assert fields(bar) == [
        Decimal(100), Decimal(105), Decimal(97), Decimal(100), Decimal(6),
        Decimal(104) + 2 * Decimal(98) + 3 * Decimal(100), 6, Decimal(3),
        (Decimal(104) + 2 * Decimal(98) + 3 * Decimal(100)) / 2,
    ]  # fmt: skip
    assert bar.complete and bar.source is CandleSource.STREAM


def test_quiet_minutes_set_no_price_and_a_quiet_interval_is_flat_at_the_previous_close() -> None:
    rollup = Rollup("BTCUSDT", 3 * M)
    # Quiet first minute (flat at the previous close 100), then trades at 103..106.
    rollup.add(flat(0, "100"))
    rollup.add(minute(1, "103", "106", "103", "105"))
    (bar,) = rollup.add(flat(2, "105"))
    assert (bar.open, bar.high, bar.low, bar.close) == tuple(map(Decimal, (103, 106, 103, 105)))
    assert bar.trades == 1 and bar.complete
    # An interval without any trade: O=H=L=C=previous close, volume 0, trades 0.
    bars = [b for i in (3, 4, 5) for b in rollup.add(flat(i, "105"))]
    assert [fields(b) for b in bars] == [[Decimal(105)] * 4 + [Decimal(0)] * 2 + [0] + [0, 0]]
    assert bars[0].complete


def test_incomplete_and_missing_minutes_and_a_mid_interval_start() -> None:
    rollup = Rollup("BTCUSDT", 3 * M)
    (first,) = [b for i in (1, 2) for b in rollup.add(minute(i, "1", "1", "1", "1"))]
    assert not first.complete  # started mid-interval
    bars = [
        b for i in (3, 4, 5) for b in rollup.add(minute(i, "1", "1", "1", "1", complete=i != 4))
    ]
    assert len(bars) == 1 and not bars[0].complete  # one minute incomplete
    # Minute 7 missing: 6..8 incomplete; a minute of a later interval closes what was open.
    rollup.add(minute(6, "1", "1", "1", "1"))
    (bar,) = rollup.add(minute(8, "1", "1", "1", "1"))
    assert not bar.complete
    rollup.add(minute(9, "1", "1", "1", "1"))
    bars = list(rollup.add(minute(12, "2", "2", "2", "2")))
    assert [(b.open_time - T0) // M for b in bars] == [9] and not bars[0].complete
    # A late or repeated minute is ignored.
    assert rollup.add(minute(12, "3", "3", "3", "3")) == () and rollup.ignored == 1


def test_source_is_warmup_when_it_ended_in_the_past_backfill_when_any_minute_was() -> None:
    rollup = Rollup("BTCUSDT", 3 * M)
    warm = [replace(minute(i, "1", "1", "1", "1"), source=CandleSource.WARMUP) for i in range(3)]
    assert [b.source for m in warm for b in rollup.add(m)] == [CandleSource.WARMUP]
    mixed = [
        replace(minute(3, "1", "1", "1", "1"), source=CandleSource.WARMUP),
        replace(minute(4, "1", "1", "1", "1"), source=CandleSource.BACKFILL),
        minute(5, "1", "1", "1", "1"),
    ]
    assert [b.source for m in mixed for b in rollup.add(m)] == [CandleSource.BACKFILL]


def test_the_open_interval_includes_the_open_minute_and_changes_nothing() -> None:
    minutes = [minute(i, "100", str(100 + i), "99", "100") for i in range(7)]
    closed, current = roll_up_with_open(minutes, "5m", minute(7, "100", "120", "90", "110"))
    assert [c.open_time for c in closed] == [T0]
    assert current is not None and current.open_time == T0 + 5 * M
    assert (current.high, current.low, current.close) == (Decimal(120), Decimal(90), Decimal(110))
    assert current.trades == 3 and current.complete
    # The open minute is the interval's last: the open candle is the whole interval.
    _, last = roll_up_with_open(minutes[:4], "5m", minute(4, "1", "200", "1", "1"))
    assert last is not None and last.high == Decimal(200) and last.trades == 5
    assert roll_up_with_open([], "5m") == ([], None)
