"""The engine: crossovers on crafted closes, variants, positions, stop-losses."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from aggregation.models import CandleSource
from config import VariantSettings, load_settings
from data_ingestion.models import Tick
from strategy.engine import StrategyEngine
from strategy.models import Side, SignalRaised, SignalReason, Strength
from tests.strategy.conftest import candle

T0 = 1_781_476_440_000
VARIANTS = [
    VariantSettings("A", Decimal("0.15"), 5, 10),
    VariantSettings("B", Decimal("0.10"), 5, 10),
]
FLAT = ["100"] * 10  # both averages at 100: warm-up done, EMA == SMA


def feed(engine: StrategyEngine, closes: list[str], start: int = 0, complete: bool = True):
    out: list[SignalRaised] = []
    for i, c in enumerate(closes):
        out.extend(engine.on_candle(candle("BTCUSDT", T0 + (start + i) * 60_000, c, complete)))
    return out


def tick(price: str, trade_id: int = 1) -> Tick:
    return Tick("BTCUSDT", trade_id, Decimal(price), Decimal("0.01"), T0 + 10**7, False)


def test_no_signal_during_warm_up_even_on_a_cross() -> None:
    engine = StrategyEngine(VARIANTS)
    # Rising from the start: EMA > SMA as soon as both exist, but there was no "previous" SMA.
    assert feed(engine, [str(100 + i) for i in range(10)]) == []


def test_buy_on_cross_up_is_strong_when_close_above_both() -> None:
    engine = StrategyEngine(VARIANTS)
    assert feed(engine, FLAT) == []
    signals = feed(engine, ["110"], start=10)
    assert [(s.variant, s.side, s.strength, s.action) for s in signals] == [
        ("A", Side.BUY, Strength.STRONG, "open"),
        ("B", Side.BUY, Strength.STRONG, "open"),
    ]
    s = signals[0]
    assert s.reason is SignalReason.SIGNAL
    assert s.ref == T0 + 10 * 60_000 and s.time_ms == s.ref + 59_999
    assert s.price == Decimal("110")
    # EMA: 100 + (2/6)·10; SMA: (9·100 + 110)/10
    assert s.ema is not None and abs(s.ema - (100 + 10 / 3)) < 1e-9
    assert s.sma == 101.0


def test_equal_averages_then_cross_down_is_a_sell_and_moderate_when_close_between() -> None:
    engine = StrategyEngine(VARIANTS)
    feed(engine, FLAT)
    for v in ("A", "B"):
        engine.on_position_changed(v, "BTCUSDT", Decimal("1"), Decimal("100"))
    # Close 99 -> EMA 99.67 and SMA 99.9: cross down, close below both: STRONG.
    signals = feed(engine, ["99"], start=10)
    assert [(s.side, s.strength, s.action) for s in signals] == [
        (Side.SELL, Strength.STRONG, "close")
    ] * 2


def test_moderate_when_close_is_not_beyond_both_averages() -> None:
    engine = StrategyEngine(VARIANTS[:1])
    # A dip to 40: cross down (STRONG), recovery: cross up (STRONG); when the 40 leaves the
    # SMA window the SMA jumps to 100 above the EMA (99.65): a cross down with the close (100)
    # not below the SMA: MODERATE.
    signals = feed(engine, ["100"] * 10 + ["40"] + ["100"] * 12)
    got = [(s.ref - T0) // 60_000 for s in signals]
    assert got == [10, 13, 20]
    assert [(s.side, s.strength) for s in signals] == [
        (Side.SELL, Strength.STRONG),
        (Side.BUY, Strength.STRONG),
        (Side.SELL, Strength.MODERATE),
    ]
    last = signals[-1]
    assert last.sma == 100.0 and last.ema is not None and last.ema < 100.0


def test_only_a_real_cross_signals_not_a_continued_trend() -> None:
    engine = StrategyEngine(VARIANTS)
    feed(engine, FLAT)
    assert len(feed(engine, ["110"], start=10)) == 2
    assert feed(engine, ["120", "130"], start=11) == []  # still above: no new signal


def test_a_signal_that_changes_nothing_is_still_published_with_what_was_done() -> None:
    engine = StrategyEngine(VARIANTS)
    feed(engine, FLAT)
    engine.on_position_changed("A", "BTCUSDT", Decimal("1"), Decimal("100"))
    signals = feed(engine, ["110"], start=10)
    assert {s.variant: s.action for s in signals} == {"A": "none: already long", "B": "open"}
    # B's entry is in flight: a cross down now is published but not acted on.
    down = feed(engine, ["50"], start=11)
    assert {s.variant: s.action for s in down} == {"A": "close", "B": "none: order in flight"}


def test_sell_when_flat_is_published_as_nothing_done() -> None:
    engine = StrategyEngine(VARIANTS)
    feed(engine, FLAT)
    signals = feed(engine, ["90"], start=10)
    assert [s.action for s in signals] == ["none: flat", "none: flat"]


def test_incomplete_and_warm_up_candles_never_signal() -> None:
    engine = StrategyEngine(VARIANTS)
    feed(engine, FLAT)
    assert feed(engine, ["200"], start=10, complete=False) == []
    warm = replace(candle("BTCUSDT", T0 + 11 * 60_000, "300"), source=CandleSource.WARMUP)
    assert list(engine.on_candle(warm)) == []
    # The incomplete candle did not move the indicators; the warm-up one did.
    snap = engine.snapshot()["symbols"]["BTCUSDT"]["A"]
    assert snap["ready"] is True and snap["sma"] == (900 + 300) / 10


def test_twelve_percent_drop_stops_b_and_not_a() -> None:
    engine = StrategyEngine(VARIANTS)
    for v in ("A", "B"):
        engine.on_position_changed(v, "BTCUSDT", Decimal("0.001"), Decimal("60000"))
    assert list(engine.on_tick(tick("54000.01", 1))) == []  # B's stop is 54000 exactly
    signals = list(engine.on_tick(tick("52800", 2)))  # −12 %
    assert [(s.variant, s.side, s.reason, s.ref, s.action) for s in signals] == [
        ("B", Side.SELL, SignalReason.STOP_LOSS, 2, "close")
    ]
    assert signals[0].price == Decimal("52800")


def test_stop_fires_at_the_exact_level_and_only_once_per_position() -> None:
    engine = StrategyEngine(VARIANTS)
    engine.on_position_changed("B", "BTCUSDT", Decimal("1"), Decimal("60000"))
    assert len(engine.on_tick(tick("54000", 1))) == 1  # <= entry × 0.9
    assert list(engine.on_tick(tick("53000", 2))) == []  # exit in flight
    # The exit failed: position unchanged, the stop does not fire again for this position.
    engine.on_position_changed("B", "BTCUSDT", Decimal("1"), Decimal("60000"))
    assert list(engine.on_tick(tick("52000", 3))) == []
    # Closed, then a new position: its stop is armed again.
    engine.on_position_changed("B", "BTCUSDT", Decimal("0"), None)
    assert list(engine.on_tick(tick("1", 4))) == []
    engine.on_position_changed("B", "BTCUSDT", Decimal("1"), Decimal("50000"))
    assert [s.ref for s in engine.on_tick(tick("45000", 5))] == [5]


def test_variants_from_settings_with_own_periods() -> None:
    settings = load_settings(env_file=None, variants="A:0.15,B:0.10,C:0.05:3:6")
    engine = StrategyEngine(settings.variant_settings, symbols=["BTCUSDT"])
    snap = engine.snapshot()
    assert [v["name"] for v in snap["variants"]] == ["A", "B", "C"]
    assert snap["variants"][1]["stop_loss"] == "0.10"
    per = snap["symbols"]["BTCUSDT"]
    assert per["C"]["parameters"] == {"ema_period": 3, "sma_period": 6}
    assert per["A"]["parameters"] == {"ema_period": 5, "sma_period": 10}
    # C warms up after 6 closes, A and B after 10.
    feed(engine, ["100"] * 6)
    per = engine.snapshot()["symbols"]["BTCUSDT"]
    assert per["C"]["ready"] and not per["A"]["ready"]


def test_remove_symbol_forgets_it() -> None:
    engine = StrategyEngine(VARIANTS, symbols=["BTCUSDT", "ETHUSDT"])
    engine.remove_symbol("ETHUSDT")
    assert engine.symbols() == ["BTCUSDT"]
