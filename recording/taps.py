"""Taps that record what the live pipeline consumes (`python main.py --record FILE`).

Each wraps a live part and writes to the recorder before passing the call on: the pipeline
(trades, warm-ups, clock closes), the feed's gate (holds, releases, gaps) and the executor's
broker (the exchange's answer to each order). `backtest.replay` reads the result.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aggregation.models import Candle
from data_ingestion.models import Tick
from data_ingestion.sequencer import MarketGate
from execution.brokers import PaperBroker, TestnetBroker
from execution.errors import DuplicateOrderError, ExchangeError, OrderRejectedError
from execution.models import BrokerFill
from execution.rules import SymbolRules
from pipeline.pipeline import Pipeline
from recording.recorder import Recorder
from strategy.models import Side


class RecordingPipeline(Pipeline):
    """The pipeline that also records what it consumes (`--record`), in the order it does: every
    trade (stream and REST backfill alike: the feed hands both to `on_tick`), every warm-up,
    and each clock close of quiet minutes, so that a replay reproduces the run exactly."""

    def __init__(self, *, recorder: Recorder, **kwargs: Any) -> None:
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
    """The feed's gate (the pipeline's close timer), recording its holds, releases and gaps."""

    def __init__(self, gate: MarketGate, recorder: Recorder) -> None:
        self._gate = gate
        self._recorder = recorder

    def hold(self, symbol: str) -> None:
        self._recorder.record_gate("hold", symbol)
        self._gate.hold(symbol)

    def release(self, symbol: str) -> None:
        self._recorder.record_gate("release", symbol)
        self._gate.release(symbol)

    def mark_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None:
        self._recorder.record_gap(symbol, start_ms, end_ms, filled)
        self._gate.mark_gap(symbol, start_ms, end_ms, filled)

    def resume_ms(self, symbol: str) -> int | None:
        return self._gate.resume_ms(symbol)


class RecordingBroker:
    """The executor's broker, recording the exchange's answer to each order (its fill, or
    that it refused it) by client order id."""

    def __init__(self, broker: PaperBroker | TestnetBroker, recorder: Recorder) -> None:
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
