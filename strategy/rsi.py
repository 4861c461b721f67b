"""RSI mean reversion: BUY when the RSI falls into oversold, SELL when it rises into overbought."""

from __future__ import annotations

import math
from typing import Any

from aggregation.models import Candle
from data_ingestion.models import Tick
from strategy.base import Decision
from strategy.models import Side, Strength
from strategy.oscillators import RSI


class RsiReversion:
    """Wilder's RSI(`period`) on closes, against two thresholds.

    BUY: previous RSI >= `oversold` and now RSI < `oversold` (the price fell far and fast: bet
    on a bounce). SELL: previous RSI <= `overbought` and now RSI > `overbought`. A signal needs
    the RSI ready now and on the previous candle, so warm-up never signals. STRONG when the RSI
    is beyond the threshold by at least half the way to the extreme (below oversold/2 for a
    BUY, above (100 + overbought)/2 for a SELL).
    """

    name = "rsi"

    __slots__ = ("_prev", "_rsi", "overbought", "oversold", "period")

    def __init__(self, period: int = 14, oversold: float = 30.0, overbought: float = 70.0) -> None:
        if period < 1:
            raise ValueError(f"need period >= 1, got {period}")
        if not 0 < oversold < overbought < 100:
            raise ValueError(
                f"need 0 < oversold < overbought < 100, got {oversold} and {overbought}"
            )
        self.period = period
        self.oversold = float(oversold)
        self.overbought = float(overbought)
        self._rsi = RSI(period)
        self._prev = math.nan  # NaN compares False: no signal until ready twice

    def parameters(self) -> dict[str, Any]:
        return {"period": self.period, "oversold": self.oversold, "overbought": self.overbought}

    @property
    def ready(self) -> bool:
        return self._rsi.ready

    def on_candle(self, candle: Candle, close: float) -> Decision | None:
        rsi = self._rsi.update(close)
        prev = self._prev
        self._prev = rsi
        if prev >= self.oversold > rsi:
            strong = rsi < self.oversold / 2
            return Decision(Side.BUY, _strength(strong), values={"rsi": rsi})
        if prev <= self.overbought < rsi:
            strong = rsi > (100.0 + self.overbought) / 2
            return Decision(Side.SELL, _strength(strong), values={"rsi": rsi})
        return None

    def on_tick(self, tick: Tick) -> Decision | None:
        return None

    def state(self) -> dict[str, Any]:
        rsi = self._rsi.value
        return {"rsi": None if math.isnan(rsi) else rsi, "ready": self.ready}


def _strength(strong: bool) -> Strength:
    return Strength.STRONG if strong else Strength.MODERATE
