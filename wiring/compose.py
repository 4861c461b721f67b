"""The composition root: every component of the service built from one Settings, here only.

`build_service` is what `python main.py`, the tests and the benchmarks call (`api.app.create_app`
then serves it). With a `recorder`, the pipeline, the feed's gate and the executor's broker are
wrapped by the recording taps (`recording.taps`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from config import Settings
from core.clock import Clock
from core.events import parse_levels
from core.hub import Hub
from data_ingestion.feed import TradeFeed
from data_ingestion.sequencer import MarketGate
from data_ingestion.tick_store import TickStore
from execution.brokers import Broker, PaperBroker, TestnetBroker
from execution.executor import OrderExecutor
from execution.ledger import Ledger
from execution.models import Mode
from execution.positions import PositionBook
from execution.rules import SymbolRules
from execution.server_time import ServerTime
from execution.stop_watch import StopWatch
from execution.user_stream import UserStream
from execution.variant_state import VariantStates
from pipeline.metrics import ServiceMetrics
from pipeline.pipeline import Pipeline
from pipeline.signal_log import SignalLog
from recording.recorder import Recorder
from recording.taps import RecordingBroker, RecordingGate, RecordingPipeline
from service.components import Components
from service.container import Service
from service.notifier import Notifier
from service.notifier import channels as notify_channels
from service.order_metrics import OrderMetrics
from storage.database import Database
from storage.outbox import OutboxPolicy
from storage.sql import SqlLedger
from storage.url import DEFAULT_URL
from strategy.engine import StrategyEngine
from strategy.models import SignalRaised

log = logging.getLogger(__name__)


def build_service(
    settings: Settings,
    *,
    mode: str,
    clock: Clock,
    client: Any,
    stream_url: str,
    recorder: Recorder | None = None,
    speed: float = 1.0,
    ledger: Ledger | None = None,
) -> Service:
    """The service for `mode` (paper, testnet or simulated) on `client` (python-binance).
    Without a `ledger`, the one DATABASE_URL names is opened here and closed at the
    service's stop (the runner opens its own first, to refuse a bad one before it starts)."""
    parts = build_components(
        settings, mode=mode, clock=clock, client=client, stream_url=stream_url,
        recorder=recorder, speed=speed, ledger=ledger or settings_ledger(settings),
    )  # fmt: skip
    return Service(settings, parts, mode=mode, clock=clock, client=client, recorder=recorder,
                   speed=speed)  # fmt: skip


def build_components(
    settings: Settings,
    *,
    mode: str,
    clock: Clock,
    client: Any,
    stream_url: str,
    recorder: Recorder | None,
    ledger: Ledger,
    speed: float = 1.0,
) -> Components:
    """Every component; with a `recorder`, the pipeline, the feed's gate and the executor's
    broker record what a replay needs (see recording.recorder)."""
    hub = Hub()
    metrics = ServiceMetrics()
    tick_store = TickStore(settings.tick_history)
    signals = SignalLog()
    rules: dict[str, SymbolRules] = {}  # filled from exchangeInfo by the service
    engine = StrategyEngine(settings.variant_settings, settings.symbols)
    positions = PositionBook()
    server_time = ServerTime(client, clock)  # the one offset: clock and signatures
    broker: PaperBroker | TestnetBroker
    if mode == Mode.PAPER.value:
        broker = PaperBroker(tick_store.last_price, settings.paper_fee_rate, rules, clock=clock)
    else:
        broker = TestnetBroker(client, rules, mode=mode, server_time=server_time)
    sender: Broker = broker if recorder is None else RecordingBroker(broker, recorder)
    stops_on_exchange = stops_live_on_exchange(settings, mode, recording=recorder is not None)
    executor = OrderExecutor.from_settings(
        settings,
        sender,
        ledger,
        clock,
        hub=hub,
        positions=positions,
        price_of=tick_store.last_price,
        on_position=engine.on_position_changed,
        stop_loss_of=engine.stop_loss if stops_on_exchange else None,
        stop_broker=broker if stops_on_exchange else None,
    )
    stop_watch = None
    if stops_on_exchange:
        stop_watch = StopWatch(executor)
        ws_api_url = (
            stream_url.rstrip("/") + "/ws-api/v3"
            if mode == Mode.SIMULATED.value
            else settings.binance_ws_api_url
        )
        user_stream = UserStream(
            ws_api_url, client.API_KEY, client.API_SECRET,
            lambda: int(time.time() * 1000 + client.timestamp_offset),
            stop_watch.on_report, stop_watch.on_connected,
        )  # fmt: skip
    states = VariantStates(
        [v.name for v in settings.variant_settings], executor.risk, executor.capital_shortfall
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
        "on_closed": executor.on_candle,
    }
    pipeline = (
        Pipeline(**pipeline_args)
        if recorder is None
        else RecordingPipeline(recorder=recorder, **pipeline_args)
    )
    gate: MarketGate = pipeline.close_timer
    if recorder is not None:
        gate = RecordingGate(pipeline.close_timer, recorder)
    feed = TradeFeed(
        client, settings.symbols, pipeline.on_tick, clock, gate=gate, stream_url=stream_url,
        watchdog_s=settings.feed_watchdog_s,
    )  # fmt: skip
    notifier = None
    if isinstance(ledger, SqlLedger) and notify_channels(settings):
        notifier = Notifier(ledger.db, settings, wall_ms, policy=outbox_policy(settings))
    return Components(
        hub, metrics, tick_store, signals, rules, engine, ledger, positions, broker, executor,
        pipeline, feed, order_metrics, server_time, states,
        (stop_watch, user_stream) if stop_watch is not None else None, notifier,
    )  # fmt: skip


def wall_ms() -> int:
    """Wall-clock ms: the outbox's creation stamps and retry times, which survive restarts and
    do not follow a simulated clock."""
    return int(time.time() * 1000)


def outbox_policy(settings: Settings) -> OutboxPolicy | None:
    """What the ledger writes to the notifications' outbox (None: no channel configured)."""
    found = notify_channels(settings)
    if not found:
        return None
    return OutboxPolicy(found, parse_levels(settings.notify_events), wall_ms)


def stops_live_on_exchange(settings: Settings, mode: str, recording: bool = False) -> bool:
    """STOP_MODE, with `auto` resolved: on the exchange whenever orders go to one, except in a
    run that records for a replay (a backtest replays the service's stops, not the
    exchange's: the recording would not reproduce)."""
    if settings.stop_mode == "auto":
        return mode != Mode.PAPER.value and not recording
    if settings.stop_mode == "exchange" and recording:
        log.warning("STOP_MODE=exchange with --record: a replay will not reproduce stop fills")
    if settings.stop_mode == "exchange" and mode == Mode.PAPER.value:
        return False  # a paper broker has no exchange to keep a stop on
    return settings.stop_mode == "exchange"


def settings_ledger(settings: Settings) -> SqlLedger:
    """The ledger DATABASE_URL names (else the default), closed with the service."""
    url = settings.database_url.get_secret_value() if settings.database_url else DEFAULT_URL
    return SqlLedger(
        Database.open(url, exchange=None), owns_db=True, outbox=outbox_policy(settings)
    )
