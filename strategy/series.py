"""Indicator lines: a variant's indicator values after each closed candle of its interval, as
its strategy's own class computes them (the dashboard draws these and computes none).

A fresh instance of the variant's strategy (strategy.library) is fed the closed 1-minute
candles, rolled up to the variant's interval as the engine does (aggregation.timeframes), and
its `state()` read after each complete bar: the same numbers a signal carries, for every
strategy in the library, not only the crossover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aggregation.models import Candle
from aggregation.timeframes import Rollup, interval_ms
from core.clock import MINUTE_MS
from strategy.library import build_strategy

# Values measured in price (drawn over the candles); the others (RSI, MACD) get a pane.
PRICE_LINES = frozenset({"ema", "sma", "lower", "middle", "upper"})

Point = tuple[int, dict[str, float | None]]  # bar open time (ms), values by name


def indicator_series(
    strategy: str, parameters: Mapping[str, Any], interval: str, minutes: Iterable[Candle]
) -> list[Point]:
    """Values after each complete bar of `interval` made of `minutes` (closed 1-minute
    candles of one symbol, oldest first); None until the strategy is ready to decide."""
    instance = build_strategy(strategy, parameters)
    length = interval_ms(interval)
    rollup: Rollup | None = None
    out: list[Point] = []
    for candle in minutes:
        if length == MINUTE_MS:
            bars: Sequence[Candle] = (candle,)
        else:
            rollup = rollup or Rollup(candle.symbol, length)
            bars = rollup.add(candle)
        for bar in bars:
            if not bar.complete:
                continue
            instance.on_candle(bar, float(bar.close))
            state = instance.state()
            ready = bool(state.get("ready"))
            values = {k: (v if ready else None) for k, v in state.items() if k != "ready"}
            out.append((bar.open_time, values))
    return out
