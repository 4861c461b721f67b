"""Builds the pipeline's components from Settings; the only place that knows their constructors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle
from config import Settings
from core.clock import Clock
from core.hub import Hub
from data_ingestion.feed import TradeFeed
from data_ingestion.models import Tick
from data_ingestion.sequencer import MarketGate
from data_ingestion.tick_store import TickStore
from execution.brokers import Broker, PaperBroker, TestnetBroker
from execution.errors import DuplicateOrderError, ExchangeError, OrderRejectedError
from execution.executor import OrderExecutor
from execution.journal import Journal
from execution.models import BrokerFill, Mode
from execution.positions import PositionBook
from execution.rules import SymbolRules
from service.metrics import ServiceMetrics
from service.order_metrics import OrderMetrics
from service.pipeline import Pipeline
from service.signal_log import SignalLog
from strategy.engine import StrategyEngine
from strategy.models import Side, SignalRaised


class EventRecorder(Protocol):
    """What `--record` writes (backtest.recorder.Recorder; the service does not import it)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def record_header(self, info: dict[str, Any]) -> None: ...

    def record_symbol_info(self, info: dict[str, Any]) -> None: ...

    def record_symbol(self, op: str, symbol: str) -> None: ...

    def record_tick(self, tick: Tick) -> None: ...

    def record_warmup_candles(self, symbol: str, candles: Sequence[Candle]) -> None: ...

    def record_gate(self, op: str, symbol: str) -> None: ...

    def record_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None: ...

    def record_close(self, last_open_time: int, now_ms: int) -> None: ...

    def record_position(
        self, variant: str, symbol: str, qty: Decimal, entry: Decimal | None
    ) -> None: ...

    def record_fill(self, symbol: str, fill: BrokerFill) -> None: ...

    def record_order_error(
        self, symbol: str, client_order_id: str, code: int | None, final: bool
    ) -> None: ...


class RecordingPipeline(Pipeline):
    """The pipeline that also records what it consumes (`--record`), in the order it does: every
    trade (stream and REST backfill alike: the feed hands both to `on_tick`), every warm-up,
    and each clock close of quiet minutes, so that a replay reproduces the run exactly."""

    def __init__(self, *, recorder: EventRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._recorder = recorder
        self._clock_closing = False
        self._clock_closed: int | None = None  # last minute the current close_due closed

    def on_tick(self, tick: Tick) -> None:
        self._recorder.record_tick(tick)
        super().on_tick(tick)

    def on_candle(self, candle: Candle) -> None:
        if self._clock_closing:
            last = self._clock_closed
            self._clock_closed = candle.open_time if last is None else max(last, candle.open_time)
        super().on_candle(candle)

    def close_due(self) -> int:
        # Every symbol not held closes up to the same minute in one call, so that minute (and
        # the holds, recorded by the gate) is all a replay needs to close the same candles.
        now = self.clock.now_ms()
        self._clock_closing, self._clock_closed = True, None
        try:
            closed = super().close_due()
        finally:
            self._clock_closing = False
        if self._clock_closed is not None:
            self._recorder.record_close(self._clock_closed, now)
        return closed

    def warm_up(self, symbol: str, candles: list[Candle]) -> int:
        self._recorder.record_warmup_candles(symbol, candles)
        return super().warm_up(symbol, candles)


class RecordingGate:
    """The aggregator as the feed's gate, recording the feed's holds, releases and gaps."""

    def __init__(self, aggregator: CandleAggregator, recorder: EventRecorder) -> None:
        self._aggregator = aggregator
        self._recorder = recorder

    def hold(self, symbol: str) -> None:
        self._recorder.record_gate("hold", symbol)
        self._aggregator.hold(symbol)

    def release(self, symbol: str) -> None:
        self._recorder.record_gate("release", symbol)
        self._aggregator.release(symbol)

    def mark_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None:
        self._recorder.record_gap(symbol, start_ms, end_ms, filled)
        self._aggregator.mark_gap(symbol, start_ms, end_ms, filled)

    def resume_ms(self, symbol: str) -> int | None:
        return self._aggregator.resume_ms(symbol)


class RecordingBroker:
    """The executor's broker, recording the exchange's answer to each order (its fill, or
    that it refused it) by client order id."""

    def __init__(self, broker: PaperBroker | TestnetBroker, recorder: EventRecorder) -> None:
        self._broker = broker
        self._recorder = recorder
        self.mode = broker.mode

    def rules(self, symbol: str) -> SymbolRules:
        return self._broker.rules(symbol)

    async def place_market(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> BrokerFill:
        try:
            fill = await self._broker.place_market(symbol, side, quantity, client_order_id)
        except ExchangeError as exc:
            final = isinstance(exc, OrderRejectedError) and not isinstance(exc, DuplicateOrderError)
            self._recorder.record_order_error(symbol, client_order_id, exc.code, final)
            raise
        self._recorder.record_fill(symbol, fill)
        return fill

    async def find_order(self, symbol: str, client_order_id: str) -> BrokerFill | None:
        fill = await self._broker.find_order(symbol, client_order_id)
        if fill is not None:
            self._recorder.record_fill(symbol, fill)
        return fill

    async def resync_time(self) -> None:
        await self._broker.resync_time()


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
    recorder: EventRecorder | None,
    speed: float = 1.0,
) -> Components:
    """Every component; with a `recorder`, the pipeline, the feed's gate and the executor's
    broker record what a replay needs (see backtest.recorder)."""
    engine = StrategyEngine(settings.variant_settings, settings.symbols)
    journal = Journal(settings.journal_path)
    positions = PositionBook()
    broker: PaperBroker | TestnetBroker
    if mode == Mode.PAPER.value:
        broker = PaperBroker(tick_store.last_price, settings.paper_fee_rate, rules, clock=clock)
    else:
        broker = TestnetBroker(client, rules, mode=mode)
    sender: Broker = broker if recorder is None else RecordingBroker(broker, recorder)
    executor = OrderExecutor.from_settings(
        settings,
        sender,
        journal,
        clock,
        hub=hub,
        positions=positions,
        price_of=tick_store.last_price,
        on_position=engine.on_position_changed,
    )
    if recorder is not None:
        # After the engine's own listener: the point where the strategy learnt the position.
        executor.add_listener(recorder.record_position)
    order_metrics = OrderMetrics(hub, metrics)

    def submit(signal: SignalRaised) -> None:
        order_metrics.submitted(signal.variant, signal.symbol)
        executor.submit(signal)

    pipeline_args: dict[str, Any] = {
        "clock": clock,
        "hub": hub,
        "tick_store": tick_store,
        "engine": engine,
        "metrics": metrics,
        "signals": signals,
        "submit": submit,
        "candle_history": settings.candle_history,
        "grace_ms": int(settings.candle_close_grace_s * 1000),
        "speed": speed,
    }
    pipeline = (
        Pipeline(**pipeline_args)
        if recorder is None
        else RecordingPipeline(recorder=recorder, **pipeline_args)
    )
    gate: MarketGate = pipeline.aggregator
    if recorder is not None:
        gate = RecordingGate(pipeline.aggregator, recorder)
    feed = TradeFeed(
        client, settings.symbols, pipeline.on_tick, clock, gate=gate, stream_url=stream_url,
        watchdog_s=settings.feed_watchdog_s,
    )  # fmt: skip
    return Components(engine, journal, positions, broker, executor, pipeline, feed, order_metrics)


async def apply_rules(broker: PaperBroker | TestnetBroker, rules: dict[str, SymbolRules]) -> None:
    """Give the broker the exchange's symbol rules once exchangeInfo is loaded."""
    if isinstance(broker, PaperBroker):
        for rule in rules.values():
            broker.set_rules(rule)
    else:
        await broker.load_rules()
