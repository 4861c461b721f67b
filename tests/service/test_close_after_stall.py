"""After a stall (the process blocked, the machine asleep) the clock has jumped past many
candle closes while those minutes' trades are still on their way: the close timer must not
close them flat. The pipeline with the real aggregator on a clock that follows real time
(SimulatedClock over a source the test moves, as a stalled loop sees it)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from config import VariantSettings
from core.clock import MINUTE_MS, SimulatedClock
from core.hub import Hub
from data_ingestion.models import Tick
from data_ingestion.tick_store import TickStore
from pipeline.metrics import ServiceMetrics
from pipeline.pipeline import Pipeline
from pipeline.signal_log import SignalLog
from strategy.engine import StrategyEngine

T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS
SPEED = 600.0  # --speed 600: a market minute in 0.1 s


class Market:
    """The market's time: set by the test (a stalled event loop sees it jump), or running at
    SPEED from where it was set once `run()` is called."""

    def __init__(self) -> None:
        self.now = T0 + 1_000
        self._since: float | None = None

    def run(self) -> None:
        self._since = asyncio.get_running_loop().time()

    def __call__(self) -> int:
        if self._since is None:
            return self.now
        return self.now + int((asyncio.get_running_loop().time() - self._since) * SPEED * 1000)


def rig(market: Market) -> Pipeline:
    pipeline = Pipeline(
        clock=SimulatedClock(market, SPEED), hub=Hub(), tick_store=TickStore(1000),
        engine=StrategyEngine([VariantSettings("A", Decimal("0.15"), 2, 3)], ["BTCUSDT"]),
        metrics=ServiceMetrics(), signals=SignalLog(), submit=lambda s: None,
        candle_history=1000, grace_ms=2_000, speed=SPEED,
    )  # fmt: skip
    pipeline.close_timer.start()
    return pipeline


def trade(pipeline: Pipeline, n: int, minute: int) -> None:
    t = T0 + minute * MINUTE_MS + 10_000
    pipeline.on_tick(Tick("BTCUSDT", n, Decimal(100 + minute), Decimal("0.5"), t, False))


async def loop_turns(seconds: float) -> None:
    await asyncio.sleep(seconds)  # real time: the timers on the loop fire


async def test_minutes_after_a_stall_close_with_their_trades_not_flat() -> None:
    market = Market()
    pipeline = rig(market)
    trade(pipeline, 1, 0)
    # The loop blocks for 8 real seconds: 80 market minutes pass before anything runs.
    market.now = T0 + 81 * MINUTE_MS
    await loop_turns(0.05)  # the close timer wakes first, 80 minutes late
    assert pipeline.close_timer.suspended
    assert pipeline.aggregator.history("BTCUSDT") == []  # nothing closed flat
    # Then the stalled minutes' trades arrive, one a minute, each long after its time.
    for minute in range(1, 80):
        trade(pipeline, minute + 1, minute)
    await loop_turns(0.05)
    closed = pipeline.aggregator.history("BTCUSDT")
    assert [c.open_time for c in closed] == [T0 + m * MINUTE_MS for m in range(79)]
    assert all(c.trades == 1 and c.volume == Decimal("0.5") for c in closed)
    assert pipeline.aggregator.late_trades_of("BTCUSDT") == 0
    # The last ones came within the delivery lag: the stream is current, the clock closes again.
    assert not pipeline.close_timer.suspended
    trade(pipeline, 100, 80)
    market.run()  # time flows again; the clock closes the quiet minutes that follow
    for _ in range(100):
        await loop_turns(0.05)
        if pipeline.aggregator.history("BTCUSDT")[-1].open_time > T0 + 81 * MINUTE_MS:
            break
    after = pipeline.aggregator.history("BTCUSDT")[80:]
    assert after[0].open_time == T0 + 80 * MINUTE_MS and after[0].trades == 1
    assert len(after) > 2 and all(c.trades == 0 for c in after[1:])  # quiet: flat, on the clock
    pipeline.close_timer.stop()


async def test_a_release_after_a_stall_resumes_closing_on_the_clock() -> None:
    """A quiet market after a stall: no trade comes; the feed's silence check releases the
    symbol (its REST says nothing was missed), and the quiet minutes close flat as they are."""
    market = Market()
    pipeline = rig(market)
    trade(pipeline, 1, 0)
    market.now = T0 + 30 * MINUTE_MS
    await loop_turns(0.05)
    assert pipeline.close_timer.suspended and pipeline.aggregator.history("BTCUSDT") == []
    pipeline.close_timer.hold("BTCUSDT")  # the feed's silence check
    pipeline.close_timer.release("BTCUSDT")  # ... found nothing missed
    assert not pipeline.close_timer.suspended
    closed = pipeline.aggregator.history("BTCUSDT")
    due = (30 * MINUTE_MS - pipeline.close_lag_ms - 2_000) // MINUTE_MS  # ends + grace + lag
    assert [c.open_time for c in closed] == [T0 + m * MINUTE_MS for m in range(due)]
    assert closed[0].trades == 1 and all(c.trades == 0 for c in closed[1:])
    pipeline.close_timer.stop()
