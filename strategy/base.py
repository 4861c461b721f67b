"""The strategy contract: closed candles (and ticks) in, decisions out, parameters declared.

A new strategy is a class satisfying `Strategy`, registered by name in
`strategy.library.LIBRARY`, with its parameters declared in `core.variants.CATALOGUE` (what the
settings check); the engine, the executor, the backtest and the service do not change
(docs/strategies.md).
The engine owns what is common to every strategy: variants, positions, stops, publishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aggregation.models import Candle
from data_ingestion.models import Tick
from strategy.models import Side, Strength


@dataclass(frozen=True, slots=True)
class Decision:
    """What a strategy wants and the indicator values behind it (allocated only on a signal).

    `ema`/`sma` are the crossover's averages; other strategies put theirs in `values`."""

    side: Side
    strength: Strength
    ema: float | None = None
    sma: float | None = None
    values: dict[str, float] | None = None


class Strategy(Protocol):
    """One instance per (symbol, parameter set); variants with the same parameters share it."""

    name: str

    def parameters(self) -> dict[str, Any]:
        """Declared parameters (JSON-ready): what makes two instances equal."""
        ...

    @property
    def ready(self) -> bool:
        """True once warm-up is done and a decision is possible."""
        ...

    def on_candle(self, candle: Candle, close: float) -> Decision | None:
        """A closed, complete candle; `close` is `float(candle.close)`, computed once."""
        ...

    def on_tick(self, tick: Tick) -> Decision | None:
        """A trade; most strategies decide on candles only and return None."""
        ...

    def state(self) -> dict[str, Any]:
        """Indicator values and readiness, JSON-ready (floats may be None before warm-up)."""
        ...
