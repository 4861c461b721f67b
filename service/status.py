"""What the service says about itself: its health (GET /health), a /ws `status` whenever that
changes (and the variant-state gauge), and its /metrics sources.

The service tells it why it cannot trade yet (`set_exchange_error`), what its start found
(`notices`) and when it started (`mark_started`); the feed is read once it runs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable

from aggregation.aggregator import CandleAggregator
from core.clock import Clock
from core.hub import STATUS, Event, Hub
from data_ingestion.feed import TradeFeed
from data_ingestion.tick_store import TickStore
from execution.ledger import Ledger
from execution.variant_state import State, VariantStates
from pipeline.metrics import ServiceMetrics
from service.health import FeedReport, HealthReport

log = logging.getLogger(__name__)

STATUS_CHECK_S = 0.5  # how often variant states and health are compared for a /ws status


class ServiceStatus:
    """The service's health, from its parts; `symbols()` are the subscribed symbols and
    `feed()` the trade feed once it started (None before)."""

    def __init__(
        self,
        *,
        mode: str,
        clock: Clock,
        hub: Hub,
        metrics: ServiceMetrics,
        states: VariantStates,
        ledger: Ledger,
        tick_store: TickStore,
        symbols: Callable[[], list[str]],
        feed: Callable[[], TradeFeed | None],
    ) -> None:
        self._mode = mode
        self._clock = clock
        self._hub = hub
        self._metrics = metrics
        self._states = states
        self._ledger = ledger
        # Called once the ledger takes writes again after a failure (the service re-checks
        # what may have happened on the exchange meanwhile: a stop canceled, unrecorded).
        self.on_ledger_back: Callable[[], None] | None = None
        self._tick_store = tick_store
        self._symbols = symbols
        self._feed = feed
        self._started_mono = time.monotonic()
        self._started_ms = clock.now_ms()
        self.exchange_error: str | None = None
        # What the start found that a person should know, though nothing is wrong now (an
        # exchange reset that ended the journal's positions, holdings the account lacks).
        self.notices: list[str] = []

    def mark_started(self) -> None:
        self._started_mono = time.monotonic()
        self._started_ms = self._clock.now_ms()

    def set_exchange_error(self, error: str | None, state: State = State.PAUSED) -> None:
        """Why the service cannot trade yet (None: it can); every variant shows it."""
        self.exchange_error = error
        if error is None:
            self._states.clear_service("exchange")
        else:
            self._states.set_service("exchange", state, error)

    def health(self) -> HealthReport:
        now = self._clock.now_ms()
        reasons: list[str] = []
        if self.exchange_error is not None:
            reasons.append(self.exchange_error)
        feed = self._feed()
        states = feed.states() if feed is not None else {}
        feeds: dict[str, FeedReport] = {}
        for symbol in self._symbols():
            state = states.get(symbol)
            tick = self._tick_store.last_tick(symbol)
            last_ms = tick.trade_time_ms if tick is not None else None
            status = state.status if state is not None else "starting"
            status = str(getattr(status, "value", status))
            error = getattr(state, "last_error", None) if state is not None else None
            feeds[symbol] = FeedReport(
                status=status,
                reconnects=int(getattr(state, "reconnects", 0)) if state is not None else 0,
                last_tick_ms=last_ms,
                last_tick_age_s=None if last_ms is None else max(0.0, (now - last_ms) / 1000),
                last_error=error or None,
            )
            # A symbol the feed has just started streaming is not a fault (nor a notification).
            just_added = state is not None and status == "starting"
            if status != "live" and not just_added and self.exchange_error is None:
                reasons.append(f"{symbol} feed {status}" + (f": {error}" if error else ""))
        variants = self._states.all()
        reasons += [
            f"variant {v.variant} {v.state.value}: {v.reason}"
            for v in variants
            if v.state is not State.ACTIVE and v.reason != self.exchange_error
        ]
        return HealthReport(
            status="degraded" if reasons else "ok",
            reasons=reasons,
            mode=self._mode,
            uptime_s=round(time.monotonic() - self._started_mono, 3),
            started_ms=self._started_ms,
            now_ms=now,
            symbols=feeds,
            variants=variants,
            notices=list(self.notices),
        )

    def publish(self, report: HealthReport | None = None) -> None:
        """A /ws `status` now (the current health unless `report` is given)."""
        self._hub.publish(Event(STATUS, report or self.health(), None, self._clock.now_ms()))

    async def watch(self) -> None:
        """A /ws `status` whenever health or a variant's state changes; the state gauge."""
        last: tuple[object, ...] | None = None
        last_variants: tuple[object, ...] | None = None
        failed = False
        while True:
            failure = self._ledger.failure
            if failure is not None:
                self._states.set_service("ledger", State.PAUSED, f"ledger: {failure}")
            else:
                self._states.clear_service("ledger")  # writable (again)
                if failed and self.on_ledger_back is not None:
                    log.warning("the ledger takes writes again: the stops are checked")
                    self.on_ledger_back()
            failed = failure is not None
            report = self.health()
            feeds = tuple((symbol, f.status) for symbol, f in report.symbols.items())
            now = (report.status, tuple(report.reasons), feeds)
            if now != last or tuple(report.variants) != last_variants:
                last = now
                self.publish(report)  # a feed's status too: the page shows each one
            if tuple(report.variants) != last_variants:
                last_variants = tuple(report.variants)
                for variant in report.variants:
                    log.log(
                        logging.INFO if variant.state is State.ACTIVE else logging.WARNING,
                        "variant %s is %s%s", variant.variant, variant.state.value,
                        f": {variant.reason}" if variant.reason else "",
                    )  # fmt: skip
                    self._metrics.set_variant_state(variant.variant, variant.state.value)
            await asyncio.sleep(STATUS_CHECK_S)

    # -- /metrics ------------------------------------------------------------------------------

    def register_metric_sources(
        self, aggregator: CandleAggregator, stop_counts: Counter[str] | None
    ) -> None:
        """Late trades, feed reconnects and filled gaps; the exchange's stops, if any."""
        m = self._metrics
        if stop_counts is not None:
            for what in ("placed", "filled", "canceled"):
                m.add_source(
                    f"stop_orders_{what}", f"Stop orders {what} on the exchange",
                    functools.partial(_count, stop_counts, what),
                )  # fmt: skip
        m.add_source(
            "late_trades", "Trades too late for their minute",
            functools.partial(_late_trades, aggregator),
        )  # fmt: skip
        m.add_source("reconnects", "Trade stream reconnects", self._reconnects)
        m.add_source("gaps_backfilled", "Trade-id gaps filled from REST", self._gaps)

    def _reconnects(self) -> float:
        feed = self._feed()
        return 0.0 if feed is None else float(feed.reconnects)

    def _gaps(self) -> float:
        feed = self._feed()
        if feed is None:
            return 0.0
        return float(sum(s.gaps - s.unfilled_gaps for s in feed.states().values()))


def _late_trades(aggregator: CandleAggregator) -> float:
    return float(aggregator.late_trades)


def _count(counts: Counter[str], key: str) -> float:
    return float(counts[key])
