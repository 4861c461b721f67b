"""Stops with candle data, by the fill model: before a candle's close is handed to the
strategy, the engine sees two synthetic trades of that candle, its open and its low, through
its live `on_tick` (the same stop check a live trade goes through).

- open:  a stop whose level is at or above the open fills at the open (the market gapped
  through it); trade id = the candle's open time.
- low:   a stop whose level lies in [low, open) fills at the stop level itself; trade id =
  open time + 1. The engine decides (Decimal, its own rule: price <= entry × (1 − stop_loss));
  the fill price is that level, entry × (1 − stop_loss) of the position the executor reported.

Entries fill at the next candle's open (backtest.fill_model; or at the signalling close with
`--fill close`): either way before the candle whose open and low are checked here.
Synthetic trades are not added to the aggregator (the candles come from the file).
Nothing is built for a candle whose low stays above every stop level of its symbol (the engine
would fire none): the executor's position reports (`on_position`, an executor listener) say
what is held, and at which levels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal

from aggregation.models import Candle
from config import VariantSettings
from data_ingestion.models import Tick
from strategy.engine import ACTION_CLOSE, ACTION_OPEN, StrategyEngine
from strategy.models import SignalRaised


class CandleStops:
    """Runs the stop checks of one candle through the live engine."""

    def __init__(
        self,
        engine: StrategyEngine,
        variants: Sequence[VariantSettings],
        record: Callable[[SignalRaised], None],
        submit: Callable[[SignalRaised], None],
    ) -> None:
        self._engine = engine
        self._stop_loss = {v.name: v.stop_loss for v in variants}
        self._record = record
        self._submit = submit
        self._levels: dict[str, dict[str, Decimal]] = {}  # symbol -> variant -> stop level
        self._highest: dict[str, Decimal] = {}  # symbol -> its highest stop level

    def on_position(self, variant: str, symbol: str, qty: Decimal, entry: Decimal | None) -> None:
        """An executor listener: what (variant, symbol) holds after an order's outcome."""
        levels = self._levels.setdefault(symbol, {})
        stop_loss = self._stop_loss.get(variant)
        if qty > 0 and entry is not None and stop_loss is not None:
            levels[variant] = entry * (1 - stop_loss)
        else:
            levels.pop(variant, None)
        if levels:
            self._highest[symbol] = max(levels.values())
        else:
            del self._levels[symbol]
            self._highest.pop(symbol, None)

    def before_close(self, candle: Candle) -> None:
        symbol = candle.symbol
        highest = self._highest.get(symbol)
        if highest is None or candle.low > highest:
            return  # nothing held, or no stop level reached: neither trade can fire a stop
        t = candle.open_time
        on_tick = self._engine.on_tick
        self._raise(on_tick(Tick(symbol, t, candle.open, Decimal(0), t, True)), None)
        if candle.low < candle.open:
            low = Tick(symbol, t + 1, candle.low, Decimal(0), t, True)
            self._raise(on_tick(low), self._levels.get(symbol, {}))

    def _raise(self, signals: Sequence[SignalRaised], levels: dict[str, Decimal] | None) -> None:
        for signal in signals:
            if levels is not None and signal.variant in levels:
                signal = dataclasses.replace(signal, price=levels[signal.variant])
            self._record(signal)
            if signal.action in (ACTION_OPEN, ACTION_CLOSE):
                self._submit(signal)
