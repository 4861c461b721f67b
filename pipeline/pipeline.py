"""The live flow: tick -> store, candle, stop checks; closed candle -> strategy -> orders; hub.

Everything here is synchronous and runs on the event loop: a tick is handled completely before the
next one (so candles, signals and orders stay in order), and nothing waits on a client. Orders
leave through `submit`, which only queues (the executor's workers do the I/O).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle
from aggregation.timeframe_book import TimeframeBook
from aggregation.timeframes import INTERVAL_NAMES
from aggregation.timer import CloseTimer
from core.clock import Clock
from core.hub import CANDLE, CANDLE_UPDATE, SIGNAL, TICK, Event, Hub
from data_ingestion.models import Tick
from data_ingestion.tick_store import TickStore
from pipeline.metrics import ServiceMetrics
from pipeline.signal_log import SignalLog
from strategy.engine import ACTION_CLOSE, ACTION_OPEN, StrategyEngine
from strategy.models import SignalRaised

log = logging.getLogger(__name__)

CANDLE_UPDATE_INTERVAL_S = 1.0  # the open candle goes out at most once a second per symbol
# Real time a trade may spend between the exchange and the aggregator (network, the feed's
# reorder window). The clock closes a minute only this much later than its grace, measured in
# market time: at --speed 60 half a real second is half a market minute.
DELIVERY_LAG_REAL_S = 0.5
# When trades arrive later than that (a loaded machine, a burst at --speed 600), the clock waits
# for twice the delay seen, up to this many times the usual lag, halving it at every close.
LAG_CAP = 120  # 60 s real: a stream that far behind is a watchdog matter, not a lag
# A close firing later than this (real time) means the process was stalled or the machine slept:
# the close timer waits for the stream to be current again (aggregation.timer).
STALL_REAL_S = 2 * DELIVERY_LAG_REAL_S
MINUTE = "1m"  # the aggregator's candles' interval, as /ws subscribers name it


class Pipeline:
    """Owns the aggregator (its `on_close` is `on_candle`); the feed calls `on_tick`."""

    def __init__(
        self,
        *,
        clock: Clock,
        hub: Hub,
        tick_store: TickStore,
        engine: StrategyEngine,
        metrics: ServiceMetrics,
        signals: SignalLog,
        submit: Callable[[SignalRaised], None],
        candle_history: int,
        grace_ms: int,
        speed: float = 1.0,
        on_closed: Callable[[Candle], None] | None = None,
    ) -> None:
        """`on_closed` hears every closed 1-minute candle first (the executor: the ledger and
        the equity marks; a backtest: its report's candles too)."""
        self.clock = clock
        self._on_closed = on_closed
        self.hub = hub
        self.tick_store = tick_store
        self.engine = engine
        self.metrics = metrics
        self.signals = signals
        self.submit = submit
        self.aggregator = CandleAggregator(candle_history, grace_ms, on_close=self.on_candle)
        # 3m … 1d candles from the closed minutes, for the intervals someone asked for (REST, /ws).
        self.timeframes = TimeframeBook(self.aggregator.history, candle_history)
        self.close_lag_ms = int(DELIVERY_LAG_REAL_S * speed * 1000)
        self.seen_delay_ms = 0  # the largest trade delay (clock − trade time) since the close
        # Closes quiet minutes once started; the feed's gate (holds, gaps) too.
        self.close_timer = CloseTimer(
            clock, self.aggregator, self.close_lag_ms, self.close_due,
            stall_ms=int(STALL_REAL_S * speed * 1000),
        )  # fmt: skip
        self._changed: set[str] = set()  # symbols whose open candle moved since last published
        self.handler_errors = 0
        # Bound once: on_tick runs for every trade.
        self._count_tick = metrics.ticks.inc
        self._add_tick = self.aggregator.add_tick
        self._hub_wanted = hub.wanted

    # -- inputs ------------------------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        """One trade from the feed (already deduplicated and in trade-id order)."""
        try:
            self._count_tick(tick.symbol)
            delay = self.clock.now_ms() - tick.trade_time_ms
            if delay > self.seen_delay_ms:
                self.seen_delay_ms = delay
            if self.close_timer.suspended and delay <= self.close_lag_ms:
                self.close_timer.resume()  # after a stall: the stream is current again
            self.tick_store.add(tick)
            self._add_tick(tick)
            self._changed.add(tick.symbol)
            signals = self.engine.on_tick(tick)
            if signals:
                for signal in signals:
                    self._raise(signal)
            if self._hub_wanted(TICK):
                self.hub.publish(Event(TICK, tick, tick.symbol, self.clock.now_ms()))
        except Exception:  # one bad tick must not end the feed; it is logged and counted
            self.handler_errors += 1
            log.exception("pipeline failed on a tick of %s", tick.symbol)

    def on_candle(self, candle: Candle) -> None:
        """A closed minute (from a later trade, the clock, or a backfill)."""
        self.metrics.candles.inc((candle.symbol, candle.source))  # a StrEnum: its value
        if self._on_closed is not None:
            self._on_closed(candle)
        wanted = self._hub_wanted(CANDLE)
        if wanted and self.hub.wanted_interval(MINUTE):  # no event built when nobody reads it
            self.hub.publish(Event(CANDLE, candle, candle.symbol, self.clock.now_ms(), MINUTE))
        for bar in self.timeframes.add(candle):
            interval = INTERVAL_NAMES[bar.interval_ms]
            if wanted and self.hub.wanted_interval(interval):
                self.hub.publish(Event(CANDLE, bar, bar.symbol, self.clock.now_ms(), interval))
        signals = self.engine.on_candle(candle)
        if signals:
            for signal in signals:
                self._raise(signal)

    def _raise(self, signal: SignalRaised) -> None:
        """Record, publish and submit one signal; a failure is logged and counted, and the
        other variants' signals still go out."""
        try:
            self.signals.add(signal)
            self.metrics.signals.inc((signal.variant, signal.reason))
            if self._hub_wanted(SIGNAL):
                self.hub.publish(Event(SIGNAL, signal, signal.symbol, self.clock.now_ms()))
            if signal.action in (ACTION_OPEN, ACTION_CLOSE):
                self.submit(signal)
        except Exception:
            self.handler_errors += 1
            log.exception(
                "signal %s %s %s not submitted", signal.variant, signal.symbol, signal.side
            )

    # -- closing on the clock (the close timer, `aggregation.timer`) ----------------------------

    def close_due(self) -> int:
        """Close every minute whose end + grace (+ the delivery lag) has passed on the clock.
        The lag stretches while trades arrive late, so a minute is not closed before its
        trades are in (they would be late trades, left out of their candle)."""
        lag = self.close_lag_ms
        lag = max(lag, min(2 * self.seen_delay_ms, LAG_CAP * lag))
        self.seen_delay_ms //= 2
        return self.aggregator.close_due(self.clock.now_ms() - lag)

    def publish_open_candles(self) -> None:
        """The open candle of each symbol that changed since the last call, of every interval
        a subscriber wants (a higher interval's: its closed minutes and the open one)."""
        changed, self._changed = self._changed, set()
        if not self._hub_wanted(CANDLE_UPDATE):
            return  # nobody reads them; a new client gets the open candles in its snapshot
        wanted = self.hub.wanted_interval
        minute = wanted(MINUTE)
        higher = [name for name in self.timeframes.kept if wanted(name)]
        now = self.clock.now_ms()
        for symbol in changed:
            candle = self.aggregator.open_candle(symbol)
            if candle is not None and minute:
                self.hub.publish(Event(CANDLE_UPDATE, candle, symbol, now, MINUTE))
            for name in higher:
                bar = self.timeframes.open_candle(symbol, name, candle)
                if bar is not None:
                    self.hub.publish(Event(CANDLE_UPDATE, bar, symbol, now, name))

    async def run_candle_updates(self) -> None:
        while True:
            await asyncio.sleep(CANDLE_UPDATE_INTERVAL_S)
            self.publish_open_candles()

    # -- warm-up -------------------------------------------------------------------------------

    def warm_up(self, symbol: str, candles: list[Candle]) -> int:
        """Seed the history with REST klines and run them through the indicators (no signals:
        the engine raises none on warm-up candles, they are the past)."""
        before = self.aggregator.history(symbol, 1)
        last = before[-1].open_time if before else None
        taken = self.aggregator.warm_up(symbol, candles)
        for candle in self.aggregator.history(symbol, None, None if last is None else last + 1):
            self.timeframes.add(candle)  # the past: kept for REST, not published
            for signal in self.engine.on_candle(candle):
                self._raise(signal)
        return taken
