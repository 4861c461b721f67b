"""The strategy library: each catalogued strategy's class, built for the engine.

The settings side (names, parameters, defaults, bounds; the `VARIANTS` syntax) is
core/variants.py, so config.py can check a setting without importing the strategies. Adding
a strategy: its class here, its parameters in `core.variants.CATALOGUE` (docs/strategies.md,
"Write your own strategy").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.variants import ALIASES, CATALOGUE, StrategyParams, spec_of
from strategy.base import Strategy
from strategy.bollinger import BollingerReversion
from strategy.crossover import Crossover
from strategy.indicators import Series
from strategy.macd import MacdCrossover
from strategy.rsi import RsiReversion

__all__ = ["CATALOGUE", "LIBRARY", "StrategyParams", "build_strategy", "spec_of"]

# Name (as in CATALOGUE) -> the class; its constructor takes the parameters by name.
LIBRARY: dict[str, Callable[..., Strategy]] = {
    "ema_sma": Crossover,
    "rsi": RsiReversion,
    "macd": MacdCrossover,
    "bollinger": BollingerReversion,
}


def build_strategy(
    name: str, parameters: Mapping[str, Any], series: Series | None = None
) -> Strategy:
    """A new instance of strategy `name` (or an alias) with `parameters` by name; a class
    that declares `shares_series` takes its indicators from `series` (the stream's, shared
    with the other strategies on it), the others compute their own."""
    name = ALIASES.get(name, name)
    cls = LIBRARY.get(name)
    if cls is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(LIBRARY)}")
    if series is not None and getattr(cls, "shares_series", False):
        return cls(**parameters, series=series)
    return cls(**parameters)
