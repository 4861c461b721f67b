"""MACD crossover: BUY when the MACD line crosses above its signal line, SELL when below."""

from __future__ import annotations

import math
from typing import Any

from aggregation.models import Candle
from data_ingestion.models import Tick
from strategy.base import Decision
from strategy.models import Side, Strength
from strategy.oscillators import MACD


class MacdCrossover:
    """MACD(`fast`, `slow`, `signal`) on closes; the histogram is line − signal.

    BUY: previous histogram <= 0 and now > 0. SELL: previous >= 0 and now < 0. A signal needs
    the MACD ready now and on the previous candle. STRONG when the MACD line is on the trend's
    side of zero too (above zero for a BUY, below for a SELL).
    """

    name = "macd"

    __slots__ = ("_macd", "_prev", "fast", "signal", "slow")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self._macd = MACD(fast, slow, signal)  # raises on bad periods
        self.fast, self.slow, self.signal = fast, slow, signal
        self._prev = math.nan

    def parameters(self) -> dict[str, Any]:
        return {"fast": self.fast, "slow": self.slow, "signal": self.signal}

    @property
    def ready(self) -> bool:
        return self._macd.ready

    def on_candle(self, candle: Candle, close: float) -> Decision | None:
        m = self._macd
        hist = m.update(close)
        if not m.ready:
            return None
        prev = self._prev
        self._prev = hist
        if prev <= 0.0 < hist:  # False while prev is NaN
            return Decision(Side.BUY, _strength(m.line > 0.0), values=self._values())
        if prev >= 0.0 > hist:
            return Decision(Side.SELL, _strength(m.line < 0.0), values=self._values())
        return None

    def on_tick(self, tick: Tick) -> Decision | None:
        return None

    def _values(self) -> dict[str, float]:
        m = self._macd
        return {"macd": m.line, "signal": m.signal, "hist": m.hist}

    def state(self) -> dict[str, Any]:
        if not self.ready:
            return {"macd": None, "signal": None, "hist": None, "ready": False}
        return {**self._values(), "ready": True}


def _strength(strong: bool) -> Strength:
    return Strength.STRONG if strong else Strength.MODERATE
