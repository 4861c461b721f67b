"""Per-trade / candle / signal counters are plain ints, shown as Prometheus counters."""

from __future__ import annotations

from aggregation.models import CandleSource
from pipeline.metrics import ServiceMetrics
from strategy.models import SignalReason


def test_counts_render_as_labelled_counters() -> None:
    metrics = ServiceMetrics()
    for _ in range(3):
        metrics.ticks.inc("BTCUSDT")
    metrics.candles.inc(("ETHUSDT", CandleSource.STREAM))
    metrics.signals.inc(("A", SignalReason.STOP_LOSS))
    lines = metrics.render().decode().splitlines()
    assert 'ticks_total{symbol="BTCUSDT"} 3.0' in lines
    assert 'candles_total{source="stream",symbol="ETHUSDT"} 1.0' in lines
    assert 'signals_total{reason="stop_loss",variant="A"} 1.0' in lines
    assert "# TYPE ticks_total counter" in lines or "# TYPE ticks counter" in lines
    assert metrics.ticks.value("BTCUSDT") == 3 and metrics.ticks.value("ETHUSDT") == 0
