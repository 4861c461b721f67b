"""Higher-interval candle events from the pipeline (the real aggregator, timeframe book and hub,
a ManualClock): published when an interval closes, only to subscribers of that interval."""

from __future__ import annotations

from decimal import Decimal

from aggregation.models import Candle
from core.hub import CANDLE, CANDLE_UPDATE
from tests.service.test_pipeline import T0, Rig

FIVE = 5 * 60_000
FIRST = (FIVE - T0 % FIVE) % FIVE // 60_000  # the rig's first minute opening a 5m interval
START = T0 + FIRST * 60_000


def five_minutes(rig: Rig) -> None:
    """Trades in minutes 0-4 (one 5m interval) and one in minute 5, which closes it."""
    prices = [("100", "104", "98"), ("101",), ("97", "99"), ("105", "103"), ("102",), ("100",)]
    for minute, trades in enumerate(prices):
        for n, price in enumerate(trades):
            rig.trade(FIRST + minute, price, 1_000 + n * 1_000)


def test_a_5m_candle_goes_to_subscribers_of_5m_when_it_closes() -> None:
    rig = Rig()
    other = rig.hub.subscribe(maxsize=1000)  # names no interval: 1m only
    rig.sub.intervals |= {"5m"}
    rig.pipeline.timeframes.keep(["5m"])  # as the /ws handler does on that subscribe
    five_minutes(rig)
    events = rig.events(CANDLE)
    assert [e.interval for e in events] == ["1m"] * 5 + ["5m"]
    minutes = [e.data for e in events[:5]]
    bar = events[-1].data
    assert isinstance(bar, Candle) and bar.interval_ms == FIVE and bar.open_time == START
    assert (bar.open, bar.high, bar.low, bar.close) == tuple(
        Decimal(p) for p in ("100", "105", "97", "102")
    )
    assert bar.volume == Decimal("0.5") * 9 and bar.trades == 9 and bar.complete
    assert bar.volume == sum(m.volume for m in minutes)
    # The same object REST reads.
    assert rig.pipeline.timeframes.history("BTCUSDT", "5m") == [bar]
    got = [other.queue.get_nowait() for _ in range(other.queue.qsize())]
    assert [e.interval for e in got if e.kind == CANDLE] == ["1m"] * 5


def test_nobody_subscribed_to_5m_no_5m_event() -> None:
    rig = Rig()
    rig.pipeline.timeframes.keep(["5m"])  # kept (a REST read asked), but no /ws subscriber
    five_minutes(rig)
    assert [e.interval for e in rig.events(CANDLE)] == ["1m"] * 5
    assert len(rig.pipeline.timeframes.history("BTCUSDT", "5m")) == 1


def test_open_candle_updates_per_interval_wanted() -> None:
    rig = Rig()
    rig.sub.intervals = {"5m"}  # 5m only: no 1m candle or update
    rig.pipeline.timeframes.keep(["5m"])
    for minute, price in enumerate(("100", "103", "99")):
        rig.trade(FIRST + minute, price)
    rig.pipeline.publish_open_candles()
    events = rig.events()
    assert [e.kind for e in events if e.kind in (CANDLE, CANDLE_UPDATE)] == [CANDLE_UPDATE]
    (update,) = [e for e in events if e.kind == CANDLE_UPDATE]
    bar = update.data
    assert update.interval == "5m" and bar.open_time == START and bar.interval_ms == FIVE
    assert (bar.open, bar.high, bar.low, bar.close) == tuple(
        Decimal(p) for p in ("100", "103", "99", "99")
    )
