"""What the service is made of (built by the composition root, `wiring.compose`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from aggregation.models import Candle
from core.hub import Hub
from data_ingestion.feed import TradeFeed
from data_ingestion.models import Tick
from data_ingestion.tick_store import TickStore
from execution.brokers import PaperBroker, TestnetBroker
from execution.executor import OrderExecutor
from execution.ledger import Ledger
from execution.models import BrokerFill
from execution.positions import PositionBook
from execution.rules import SymbolRules
from execution.server_time import ServerTime
from execution.stop_watch import StopWatch
from execution.user_stream import UserStream
from execution.variant_state import VariantStates
from pipeline.metrics import ServiceMetrics
from pipeline.pipeline import Pipeline
from pipeline.signal_log import SignalLog
from service.notifier import Notifier
from service.order_metrics import OrderMetrics
from strategy.engine import StrategyEngine


class EventRecorder(Protocol):
    """What `--record` writes (recording.recorder.Recorder)."""

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


@dataclass
class Components:
    hub: Hub
    metrics: ServiceMetrics
    tick_store: TickStore
    signals: SignalLog
    rules: dict[str, SymbolRules]  # filled from exchangeInfo once it is loaded
    engine: StrategyEngine
    ledger: Ledger
    positions: PositionBook
    broker: PaperBroker | TestnetBroker
    executor: OrderExecutor
    pipeline: Pipeline
    feed: TradeFeed
    order_metrics: OrderMetrics
    server_time: ServerTime
    states: VariantStates
    # STOP_MODE=exchange: what hears about the exchange's stops (events, else polling).
    stop_watch: tuple[StopWatch, UserStream] | None = None
    notifier: Notifier | None = None  # the outbox's sender, with a channel configured


async def apply_rules(broker: PaperBroker | TestnetBroker, rules: dict[str, SymbolRules]) -> None:
    """Give the broker the exchange's symbol rules once exchangeInfo is loaded."""
    for rule in rules.values():  # the service fetched exchangeInfo once: no second request
        broker.set_rules(rule)
