"""Builds the pipeline's components from Settings; the only place that knows their constructors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import Settings
from core.clock import Clock
from core.hub import Hub
from data_ingestion.feed import TradeFeed
from data_ingestion.tick_store import TickStore
from execution.brokers import PaperBroker, TestnetBroker
from execution.executor import OrderExecutor
from execution.journal import Journal
from execution.models import Mode
from execution.positions import PositionBook
from execution.rules import SymbolRules
from service.metrics import ServiceMetrics
from service.order_metrics import OrderMetrics
from service.pipeline import Pipeline
from service.signal_log import SignalLog
from strategy.engine import StrategyEngine
from strategy.models import SignalRaised


class RecordingFeed(TradeFeed):
    """The trade feed that also hands every raw trade event to a recorder (`--record`)."""

    def __init__(self, *args: Any, recorder: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recorder = recorder

    def on_message(self, msg: dict[str, Any]) -> None:
        data = msg.get("data", msg)
        if isinstance(data, dict) and data.get("e") == "trade":
            self._recorder.record(data)
        super().on_message(msg)


@dataclass
class Components:
    engine: StrategyEngine
    journal: Journal
    positions: PositionBook
    broker: PaperBroker | TestnetBroker
    executor: OrderExecutor
    pipeline: Pipeline
    feed: TradeFeed
    order_metrics: OrderMetrics


def build_components(
    settings: Settings,
    *,
    mode: str,
    clock: Clock,
    client: Any,
    stream_url: str,
    hub: Hub,
    tick_store: TickStore,
    rules: dict[str, SymbolRules],
    metrics: ServiceMetrics,
    signals: SignalLog,
    recorder: Any | None,
    speed: float = 1.0,
) -> Components:
    engine = StrategyEngine(settings.variant_settings, settings.symbols)
    journal = Journal(settings.journal_path)
    positions = PositionBook()
    broker: PaperBroker | TestnetBroker
    if mode == Mode.PAPER.value:
        broker = PaperBroker(tick_store.last_price, settings.paper_fee_rate, rules, clock=clock)
    else:
        broker = TestnetBroker(client, rules, mode=mode)
    executor = OrderExecutor.from_settings(
        settings,
        broker,
        journal,
        clock,
        hub=hub,
        positions=positions,
        price_of=tick_store.last_price,
        on_position=engine.on_position_changed,
    )
    order_metrics = OrderMetrics(hub, metrics)

    def submit(signal: SignalRaised) -> None:
        order_metrics.submitted(signal.variant, signal.symbol)
        executor.submit(signal)

    pipeline = Pipeline(
        clock=clock,
        hub=hub,
        tick_store=tick_store,
        engine=engine,
        metrics=metrics,
        signals=signals,
        submit=submit,
        candle_history=settings.candle_history,
        grace_ms=int(settings.candle_close_grace_s * 1000),
        speed=speed,
    )
    feed_args: dict[str, Any] = {
        "gate": pipeline.aggregator,
        "stream_url": stream_url,
        "watchdog_s": settings.feed_watchdog_s,
    }
    feed: TradeFeed
    if recorder is not None:
        feed = RecordingFeed(
            client, settings.symbols, pipeline.on_tick, clock, recorder=recorder, **feed_args
        )
    else:
        feed = TradeFeed(client, settings.symbols, pipeline.on_tick, clock, **feed_args)
    return Components(engine, journal, positions, broker, executor, pipeline, feed, order_metrics)


async def apply_rules(broker: PaperBroker | TestnetBroker, rules: dict[str, SymbolRules]) -> None:
    """Give the broker the exchange's symbol rules once exchangeInfo is loaded."""
    if isinstance(broker, PaperBroker):
        for rule in rules.values():
            broker.set_rules(rule)
    else:
        await broker.load_rules()
