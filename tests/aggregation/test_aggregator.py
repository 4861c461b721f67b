"""Minute rules of the aggregator, driven by a ManualClock."""

from __future__ import annotations

from decimal import Decimal

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle, CandleSource
from aggregation.timer import CloseTimer
from core.clock import ManualClock
from data_ingestion.models import Tick

M = 60_000
T0 = 28_000_000 * M  # a minute boundary


def tick(tid: int, t: int, price: str = "100", qty: str = "1", maker: bool = False) -> Tick:
    return Tick("BTCUSDT", tid, Decimal(price), Decimal(qty), t, maker)


def make(grace_ms: int = 2000) -> tuple[CandleAggregator, list[Candle]]:
    closed: list[Candle] = []
    return CandleAggregator(history=1440, grace_ms=grace_ms, on_close=closed.append), closed


def test_nine_fields_of_a_minute_closed_by_a_later_trade():
    agg, closed = make()
    agg.add_tick(tick(1, T0 + 10, "100", "2", maker=False))
    agg.add_tick(tick(2, T0 + 20, "103", "1", maker=True))
    agg.add_tick(tick(3, T0 + 30, "99", "0.5", maker=False))
    assert closed == []
    agg.add_tick(tick(4, T0 + M, "101"))
    (c,) = closed
    assert (c.open_time, c.close_time) == (T0, T0 + M - 1)
    assert [c.open, c.high, c.low, c.close] == [
        Decimal(100),
        Decimal(103),
        Decimal(99),
        Decimal(99),
    ]
    assert c.volume == Decimal("3.5") and c.quote_volume == Decimal("352.5")
    assert c.trades == 3
    assert c.taker_buy_base == Decimal("2.5") and c.taker_buy_quote == Decimal("249.5")
    assert c.complete and c.source is CandleSource.STREAM


def test_quiet_symbol_closes_at_boundary_plus_grace_not_before():
    agg, closed = make(grace_ms=2000)
    agg.add_tick(tick(1, T0 + 5))
    agg.close_due(T0 + M + 1999)
    assert closed == []
    agg.close_due(T0 + M + 2000)
    assert [c.open_time for c in closed] == [T0]


def test_empty_minutes_become_flat_candles_at_previous_close():
    agg, closed = make()
    agg.add_tick(tick(1, T0 + 5, "100"))
    agg.add_tick(tick(2, T0 + 50, "105"))
    agg.add_tick(tick(3, T0 + 3 * M + 1, "90"))
    assert [c.open_time for c in closed] == [T0, T0 + M, T0 + 2 * M]
    for flat in closed[1:]:
        assert [flat.open, flat.high, flat.low, flat.close] == [Decimal(105)] * 4
        assert flat.volume == 0 and flat.trades == 0 and flat.quote_volume == 0
    # and by the clock alone for a quiet symbol
    agg.close_due(T0 + 6 * M + 2000)
    assert [c.open_time for c in closed][3:] == [T0 + 3 * M, T0 + 4 * M, T0 + 5 * M]
    assert closed[-1].close == 90 and closed[-1].trades == 0


def test_late_trade_is_counted_not_merged():
    agg, closed = make()
    agg.add_tick(tick(1, T0 + 5))
    agg.add_tick(tick(2, T0 + M + 5))
    agg.add_tick(tick(3, T0 + 100, "1000"))  # belongs to the closed minute
    assert agg.late_trades == 1 and agg.late_trades_of("BTCUSDT") == 1
    assert closed[0].high == 100 and closed[0].trades == 1
    agg.add_tick(tick(4, T0 + 2 * M))
    assert closed[1].trades == 1 and closed[1].high == 100


def test_held_symbol_does_not_close_and_gap_fill_keeps_the_minute():
    """A disconnect across a boundary: the minute with trades is backfilled, not flat."""
    agg, closed = make()
    agg.add_tick(tick(1, T0 + 5, "100"))
    agg.hold("BTCUSDT")  # feed lost the stream at T0 + 10
    agg.close_due(T0 + 3 * M)
    assert closed == []
    # backfill: trades 2..3 happened in minute 1 while disconnected
    agg.mark_gap("BTCUSDT", T0 + 30_000, T0 + M + 40_000, filled=True)
    agg.add_tick(tick(2, T0 + 30_000, "101"))
    agg.add_tick(tick(3, T0 + M + 40_000, "102"))
    agg.release("BTCUSDT")
    agg.close_due(T0 + 3 * M + 2000)
    assert [c.open_time for c in closed] == [T0, T0 + M, T0 + 2 * M]
    assert closed[0].trades == 2 and closed[0].source is CandleSource.BACKFILL
    assert closed[1].trades == 1 and closed[1].close == 102  # not a flat candle
    assert closed[2].trades == 0 and closed[2].source is CandleSource.STREAM


def test_unfilled_gap_closes_its_minutes_incomplete():
    agg, closed = make()
    agg.add_tick(tick(1, T0 + 5))
    agg.mark_gap("BTCUSDT", T0 + 5, T0 + M + 7, filled=False)
    agg.add_tick(tick(9, T0 + M + 7))
    agg.add_tick(tick(10, T0 + 2 * M + 7))
    assert [c.complete for c in closed] == [False, False]
    agg.add_tick(tick(11, T0 + 3 * M))
    assert closed[-1].complete


def test_warm_up_then_live_continues_without_inventing_minutes():
    agg, closed = make()
    warm = [
        Candle("BTCUSDT", T0 + i * M, *(Decimal(100 + i),) * 4, Decimal(1), Decimal(100), 1,
               Decimal(0), Decimal(0), True, CandleSource.WARMUP)
        for i in range(3)
    ]  # fmt: skip
    assert agg.warm_up("BTCUSDT", warm) == 3
    assert agg.resume_ms("BTCUSDT") == T0 + 3 * M
    agg.add_tick(tick(1, T0 + 3 * M + 5, "110"))
    agg.add_tick(tick(2, T0 + 4 * M + 5, "111"))
    assert [c.open_time for c in closed] == [T0 + 3 * M]
    assert [c.open_time for c in agg.history("BTCUSDT")] == [T0 + i * M for i in range(4)]
    assert agg.history("BTCUSDT", limit=2, start=T0 + M)[0].open_time == T0 + 2 * M


def test_history_is_bounded():
    closed: list[Candle] = []
    agg = CandleAggregator(history=3, grace_ms=0, on_close=closed.append)
    for i in range(6):
        agg.add_tick(tick(i, T0 + i * M))
    assert len(closed) == 5
    assert [c.open_time for c in agg.history("BTCUSDT")] == [T0 + i * M for i in (2, 3, 4)]


def test_close_timer_closes_on_the_clock_at_the_deadline():
    agg, closed = make(grace_ms=2000)
    clock = ManualClock(T0 + 10)
    agg.add_tick(tick(1, T0 + 5))
    CloseTimer(clock, agg).start()
    clock.set(T0 + M + 1999)
    assert closed == []
    clock.set(T0 + M + 2000)
    assert [c.open_time for c in closed] == [T0]
    clock.set(T0 + 3 * M + 2000)  # quiet minutes: flat candles, one per firing
    assert [c.open_time for c in closed] == [T0, T0 + M, T0 + 2 * M]


def test_close_timer_waits_for_a_held_symbol_and_closes_at_its_release():
    agg, closed = make(grace_ms=2000)
    clock = ManualClock(T0 + 10)
    agg.add_tick(tick(1, T0 + 5))
    timer = CloseTimer(clock, agg)
    timer.start()
    timer.hold("BTCUSDT")
    clock.set(T0 + 2 * M + 2500)
    assert closed == []  # held: trades of those minutes may still come from REST
    timer.release("BTCUSDT")
    assert [c.open_time for c in closed] == [T0, T0 + M]
    timer.stop()
    clock.set(T0 + 5 * M)
    assert len(closed) == 2


def test_flat_minute_is_written_as_binance_writes_it():
    """Binance writes a flat kline's zeros as 0.00000000, never Decimal's 0E-8."""
    agg, closed = make()
    agg.add_tick(tick(1, T0 + 5, "64000.1", "0.00012"))
    agg.add_tick(tick(2, T0 + 2 * M + 1, "64000.2", "0.001"))

    first, flat = closed
    row = flat.to_kline_row()

    assert row[1:6] == ["64000.10000000"] * 4 + ["0.00000000"]
    assert row[7:12] == ["0.00000000", 0, "0.00000000", "0.00000000", "0"]
    assert first.to_kline_row()[7] == "7.68001200"  # 64000.1 × 0.00012, exact
