"""StrategyEngine.reconfigure (PATCH /variants/{name}): the stop level moves at once, a new
strategy or interval warmed with history decides like one configured from the start, the other
variants go on as before, bad input changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aggregation.models import Candle
from core.variants import VariantSettings, parse_variants
from data_ingestion.models import Tick
from strategy.engine import StrategyEngine
from strategy.models import SignalRaised


def _stop(engine: StrategyEngine, variant: str) -> str | None:
    stop: str | None = engine.snapshot()["symbols"]["BTCUSDT"][variant]["stop_price"]
    return stop


def _signals(engine: StrategyEngine, candles: list[Candle]) -> list[tuple[str, int, str]]:
    out: list[SignalRaised] = []
    for c in candles:
        out.extend(engine.on_candle(c))
    return [(s.variant, s.ref, s.side.value) for s in out]


def test_a_new_strategy_and_interval_warmed_with_history_decides_like_a_fresh_engine(
    testnet_candles: list[Candle],
) -> None:
    before, after = testnet_candles[:300], testnet_candles[300:]
    engine = StrategyEngine(parse_variants("A:0.15,B:0.10", 5, 10))
    _signals(engine, before)
    (rsi_b,) = parse_variants("B:0.05:rsi(5,30,70)@3m", 5, 10)
    engine.reconfigure(rsi_b, lambda symbol: before)
    got = _signals(engine, after)

    # References: the same variants configured that way from the start.
    only_a = StrategyEngine(parse_variants("A:0.15", 5, 10))
    only_b = StrategyEngine([rsi_b])
    _signals(only_a, before)
    _signals(only_b, before)
    want = sorted(_signals(only_a, after) + _signals(only_b, after))
    assert sorted(got) == want
    assert any(v == "B" for v, _, _ in got) and any(v == "A" for v, _, _ in got)
    assert all(ref % 180_000 == 0 for v, ref, _ in got if v == "B")
    snap = engine.snapshot()
    assert snap["variants"][1]["spec"] == "rsi(period=5,oversold=30.0,overbought=70.0)@3m"
    assert snap["symbols"]["BTCUSDT"]["B"]["strategy"] == "rsi"


def test_variants_with_equal_settings_share_one_warm_instance_again(
    testnet_candles: list[Candle],
) -> None:
    engine = StrategyEngine(parse_variants("A:0.15:macd@5m,B:0.10", 5, 10))
    _signals(engine, testnet_candles[:400])
    (b,) = parse_variants("B:0.10:macd@5m", 5, 10)
    engine.reconfigure(b, lambda symbol: testnet_candles[:400])
    per = engine.snapshot()["symbols"]["BTCUSDT"]
    assert per["B"]["ready"] is True and per["B"]["macd"] == per["A"]["macd"]
    groups = engine.add_symbol("BTCUSDT")
    assert [sorted(s.variant for s in g.slots) for g in groups] == [["A", "B"]]


def test_a_new_stop_loss_moves_the_open_positions_stop_at_once() -> None:
    engine = StrategyEngine(parse_variants("A:0.15,B:0.10", 5, 10), ["BTCUSDT"])
    engine.on_position_changed("B", "BTCUSDT", Decimal("1"), Decimal("60000"))
    assert _stop(engine, "B") == "54000.00"
    tick = Tick("BTCUSDT", 7, Decimal("56000"), Decimal("0.1"), 1_781_476_440_000, False)
    assert list(engine.on_tick(tick)) == []
    engine.reconfigure(parse_variants("B:0.05", 5, 10)[0], lambda symbol: [])
    assert _stop(engine, "B") == "57000.00"
    assert [s.variant for s in engine.on_tick(tick)] == ["B"]
    assert _stop(engine, "A") is None


def test_bad_settings_change_nothing() -> None:
    engine = StrategyEngine(parse_variants("A:0.15,B:0.10", 5, 10), ["BTCUSDT"])
    before = engine.snapshot()
    with pytest.raises(ValueError, match="variant 'C' is not running"):
        engine.reconfigure(VariantSettings("C", Decimal("0.1")), lambda symbol: [])
    with pytest.raises(ValueError, match="need 0 < oversold"):
        engine.reconfigure(
            VariantSettings("B", Decimal("0.1"), strategy="rsi", params=(("oversold", 80.0),)),
            lambda symbol: [],
        )
    with pytest.raises(ValueError, match="interval '2m'"):
        engine.reconfigure(VariantSettings("B", Decimal("0.1"), interval="2m"), lambda s: [])
    assert engine.snapshot() == before
