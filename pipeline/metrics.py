"""Prometheus metrics of one service instance, in its own registry (never the global one).

Counters that other components already keep (feed reconnects, late trades, gaps) are read at
scrape time through `sources`, so nothing is counted twice and no component imports this module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _ScrapeTimeCounters(Collector):
    """Counters whose values live in other components; read when /metrics is scraped."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, Callable[[], float]]] = {}

    def collect(self) -> Iterator[Metric]:
        for name, (doc, read) in self.sources.items():
            family = CounterMetricFamily(name, doc)
            try:
                value = float(read())
            except Exception:  # a source that cannot answer is reported as 0, not a 500
                value = 0.0
            family.add_metric([], value)
            yield family


class LabelledCounts(Collector):
    """A counter family whose children are plain ints, counted on the hot path (a trade, a
    candle) for a dict update instead of prometheus_client's `labels()` lookup and lock; read
    when /metrics is scraped. Keys are the label value (one label) or a tuple of them; a
    value is shown as `str(value)` (a StrEnum member shows its value)."""

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...]) -> None:
        self.name = name
        self.doc = doc
        self.labelnames = labelnames
        self.counts: dict[Any, int] = {}

    def inc(self, key: Any) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def value(self, key: Any) -> int:
        return self.counts.get(key, 0)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labelnames)
        for key, value in list(self.counts.items()):
            labels = [str(k) for k in key] if isinstance(key, tuple) else [str(key)]
            family.add_metric(labels, float(value))
        yield family


class ServiceMetrics:
    """Everything /metrics shows. One per app; tests build as many as they like."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Counted per trade / candle / signal: plain ints (see LabelledCounts).
        self.ticks = LabelledCounts("ticks", "Trades received", ("symbol",))
        self.candles = LabelledCounts("candles", "Candles closed", ("symbol", "source"))
        self.signals = LabelledCounts("signals", "Signals raised", ("variant", "reason"))
        for counts in (self.ticks, self.candles, self.signals):
            r.register(counts)
        self.orders = Counter("orders", "Orders by outcome", ["outcome"], registry=r)
        self.notifications_expired = Counter(
            "notifications_expired", "Notifications that expired undelivered", registry=r
        )
        self.order_latency = Histogram(
            "order_latency_seconds",
            "Signal to order outcome",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        self.ws_clients = Gauge("ws_clients", "Connected WebSocket clients", registry=r)
        self.ws_dropped = Counter(
            "ws_slow_clients_dropped", "WebSocket clients closed for falling behind", registry=r
        )
        self.loop_lag = Gauge("event_loop_lag_seconds", "Last measured event-loop lag", registry=r)
        self.loop_lag_max = Gauge(
            "event_loop_lag_max_seconds", "Largest event-loop lag seen", registry=r
        )
        self.variant_state = Gauge(
            "variant_state",
            "1 for the state each variant is in",
            ["variant", "state"],
            registry=r,
        )
        self._lag_max = 0.0
        self._scrape = _ScrapeTimeCounters()
        r.register(self._scrape)

    def set_variant_state(self, variant: str, state: str) -> None:
        for name in ("active", "paused", "halted"):
            self.variant_state.labels(variant, name).set(1.0 if name == state else 0.0)

    def add_source(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """Expose `read()` as counter `name` (e.g. reconnects from the feed's states)."""
        self._scrape.sources[name] = (doc, read)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def measure_loop_lag(self, interval_s: float = 0.25) -> None:
        """Sleep `interval_s` forever; how late each wake-up is = the event-loop lag."""
        while True:
            start = time.monotonic()
            await asyncio.sleep(interval_s)
            lag = max(0.0, time.monotonic() - start - interval_s)
            self.loop_lag.set(lag)
            if lag > self._lag_max:
                self._lag_max = lag
                self.loop_lag_max.set(lag)
