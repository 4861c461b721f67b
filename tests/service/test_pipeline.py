"""The pipeline with the real aggregator, strategy engine, tick store and hub (ManualClock)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aggregation.models import Candle, CandleSource
from config import VariantSettings
from core.clock import MINUTE_MS, ManualClock
from core.hub import CANDLE, CANDLE_UPDATE, SIGNAL, TICK, Event, Hub, Subscriber
from data_ingestion.models import Tick
from data_ingestion.tick_store import TickStore
from pipeline.metrics import ServiceMetrics
from pipeline.pipeline import Pipeline
from pipeline.signal_log import SignalLog
from strategy.engine import StrategyEngine
from strategy.models import Side, SignalRaised

T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS
VARIANTS = [
    VariantSettings("A", Decimal("0.15"), 2, 3),
    VariantSettings("B", Decimal("0.10"), 2, 3),
]


class Rig:
    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.hub = Hub()
        self.sub: Subscriber = self.hub.subscribe(maxsize=10_000)
        self.submitted: list[SignalRaised] = []
        self.engine = StrategyEngine(VARIANTS, ["BTCUSDT"])
        self.pipeline = Pipeline(
            clock=self.clock,
            hub=self.hub,
            tick_store=TickStore(100),
            engine=self.engine,
            metrics=ServiceMetrics(),
            signals=SignalLog(),
            submit=self.submitted.append,
            candle_history=100,
            grace_ms=2_000,
        )
        self.trade_id = 0

    def trade(self, minute: int, price: str, offset_ms: int = 1_000) -> Tick:
        self.trade_id += 1
        t = T0 + minute * MINUTE_MS + offset_ms
        self.clock.set(t)
        tick = Tick("BTCUSDT", self.trade_id, Decimal(price), Decimal("0.5"), t, False)
        self.pipeline.on_tick(tick)
        return tick

    def events(self, kind: str | None = None) -> list[Event]:
        out: list[Event] = []
        while not self.sub.queue.empty():
            out.append(self.sub.queue.get_nowait())
        return [e for e in out if kind is None or e.kind == kind]


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_a_later_trade_closes_the_minute_and_publishes_the_candle(rig: Rig) -> None:
    rig.trade(0, "100")
    rig.trade(0, "103", 2_000)
    rig.trade(0, "99", 3_000)
    assert rig.events(CANDLE) == []
    rig.trade(1, "101")
    (event,) = rig.events(CANDLE)
    assert event.symbol == "BTCUSDT"
    candle = event.data  # the hub carries the Candle; the API serialises it
    assert isinstance(candle, Candle)
    row = candle.to_kline_row()
    ohlc = tuple(row[1:5])
    assert ohlc == ("100.00000000", "103.00000000", "99.00000000", "99.00000000")  # as Binance
    assert candle.open_time == T0 and candle.trades == 3 and candle.complete
    assert row[5] == "1.50000000"
    assert rig.pipeline.tick_store.last_price("BTCUSDT") == Decimal("101")


def test_ticks_reach_the_hub_only_when_someone_wants_them(rig: Rig) -> None:
    rig.trade(0, "100")
    assert rig.events(TICK) == []
    rig.sub.kinds |= {TICK}
    tick = rig.trade(0, "101", 2_000)
    (event,) = rig.events(TICK)
    assert event.data == tick and event.data.price == Decimal("101")


def test_open_candle_published_once_per_change(rig: Rig) -> None:
    rig.trade(0, "100")
    rig.trade(0, "105", 1_500)
    rig.pipeline.publish_open_candles()
    (update,) = rig.events(CANDLE_UPDATE)
    assert update.data.high == Decimal("105") and update.data.open_time == T0
    rig.pipeline.publish_open_candles()  # nothing changed since
    assert rig.events(CANDLE_UPDATE) == []


def test_the_clock_closes_a_quiet_minute_after_grace_and_lag(rig: Rig) -> None:
    rig.trade(0, "100")
    end = T0 + MINUTE_MS
    rig.clock.set(end + 2_000 + rig.pipeline.close_lag_ms - 1)
    rig.pipeline.close_due()
    assert rig.events(CANDLE) == []
    rig.clock.set(end + 2_000 + rig.pipeline.close_lag_ms)
    rig.pipeline.close_due()
    (event,) = rig.events(CANDLE)
    assert event.data.open_time == T0


@pytest.mark.parametrize("lags", [3, 20])  # 20: 10 s real behind (an overloaded --speed 600)
def test_trades_arriving_late_make_the_clock_wait_for_them(rig: Rig, lags: int) -> None:
    """A loaded machine delivers trades seconds after they happened: the clock must not close
    their minute before they are in (they would be left out of their candle)."""
    lag = rig.pipeline.close_lag_ms
    rig.trade(0, "100")
    late_by = lags * lag
    rig.clock.set(T0 + 5_000 + late_by)  # the next trade of minute 0 is delivered late
    tick = Tick("BTCUSDT", 99, Decimal("101"), Decimal("0.5"), T0 + 5_000, False)
    rig.pipeline.on_tick(tick)
    end = T0 + MINUTE_MS
    rig.clock.set(end + 2_000 + late_by)  # later than the usual close time: still too early
    rig.pipeline.close_due()
    assert rig.events(CANDLE) == []
    rig.clock.set(end + 2_000 + 2 * late_by)
    rig.pipeline.close_due()
    (event,) = rig.events(CANDLE)
    assert event.data.trades == 2 and rig.pipeline.aggregator.late_trades == 0


def test_crossover_becomes_a_signal_event_and_an_order(rig: Rig) -> None:
    # Falling closes, then a jump: EMA(2) crosses above SMA(3) on the jump's candle.
    for minute, price in enumerate(["100", "99", "98", "97", "96", "110"]):
        rig.trade(minute, price)
    rig.trade(6, "111")  # closes the jump's minute
    signals = [e.data for e in rig.events(SIGNAL)]
    assert [(s.variant, s.side, s.action) for s in signals] == [
        ("A", Side.BUY, "open"),
        ("B", Side.BUY, "open"),
    ]
    assert [(s.variant, s.side) for s in rig.submitted] == [("A", Side.BUY), ("B", Side.BUY)]
    assert len(rig.pipeline.signals) == 2
    assert rig.pipeline.signals.query(variant="B")[0].price == Decimal("110")


def test_warm_up_feeds_the_indicators_without_signals(rig: Rig) -> None:
    candles = [
        Candle(
            "BTCUSDT",
            T0 - (5 - i) * MINUTE_MS,
            *(Decimal(p),) * 4,
            Decimal(1),
            Decimal(p),
            1,
            Decimal(0),
            Decimal(0),
            True,
            CandleSource.WARMUP,
        )
        for i, p in enumerate(["100", "99", "98", "97", "110"])
    ]
    assert rig.pipeline.warm_up("BTCUSDT", candles) == 5
    assert rig.events(SIGNAL) == [] and rig.submitted == []
    state = rig.engine.snapshot()["symbols"]["BTCUSDT"]["A"]
    assert state["ready"] is True
    assert len(rig.pipeline.aggregator.history("BTCUSDT")) == 5


def test_a_failing_tick_is_counted_and_the_next_one_still_flows(rig: Rig) -> None:
    def broken(signal: SignalRaised) -> None:
        raise RuntimeError("executor down")

    rig.pipeline.submit = broken
    for minute, price in enumerate(["100", "99", "98", "97", "96", "110"]):
        rig.trade(minute, price)
    rig.trade(6, "111")
    assert rig.pipeline.handler_errors == 2  # A's and B's, each on its own
    assert len(rig.events(SIGNAL)) == 2
    rig.trade(7, "112")
    assert rig.pipeline.tick_store.last_price("BTCUSDT") == Decimal("112")
