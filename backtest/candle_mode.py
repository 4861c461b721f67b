"""Stops with candle data, by the fill model: before a candle's close is handed to the
strategy, the engine sees two synthetic trades of that candle, its open and its low.

- open:  a stop whose level is at or above the open fills at the open (the market gapped
  through it); trade id = the candle's open time.
- low:   a stop whose level lies in [low, open) fills at the stop level itself; trade id =
  open time + 1. The engine decides (Decimal, its own rule: price <= entry × (1 − stop_loss));
  the fill price is the engine's stop level for that variant, read from its snapshot.

Entries fill at the close of the candle that signalled, so a stop can only fire from the next
candle on. Synthetic trades are not added to the aggregator (the candles come from the file).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal

from aggregation.models import Candle
from strategy.engine import ACTION_CLOSE, ACTION_OPEN, StrategyEngine
from strategy.models import SignalRaised


class CandleStops:
    """Runs the stop checks of one candle through the live engine."""

    def __init__(
        self,
        engine: StrategyEngine,
        record: Callable[[SignalRaised], None],
        submit: Callable[[SignalRaised], None],
    ) -> None:
        self._engine = engine
        self._record = record
        self._submit = submit

    def before_close(self, candle: Candle) -> None:
        engine = self._engine
        symbol = candle.symbol
        if not engine.has_open(symbol):
            return  # no stop armed: neither synthetic trade can fire one
        t = candle.open_time
        fired = engine.check_stops(symbol, candle.open, t, t)
        if fired:
            self._raise(fired, False)
        if candle.low < candle.open and engine.has_open(symbol):
            fired = engine.check_stops(symbol, candle.low, t, t + 1)
            if fired:
                self._raise(fired, True)

    def _raise(self, signals: Sequence[SignalRaised], at_stop_level: bool) -> None:
        for signal in signals:
            if at_stop_level:
                signal = dataclasses.replace(signal, price=self._stop_level(signal))
            self._record(signal)
            if signal.action in (ACTION_OPEN, ACTION_CLOSE):
                self._submit(signal)

    def _stop_level(self, signal: SignalRaised) -> Decimal:
        level = self._engine.stop_price(signal.variant, signal.symbol)
        assert level is not None  # the stop just fired from it
        return level
