"""Bollinger-band reversion: BUY when the close falls below the lower band, SELL above the upper."""

from __future__ import annotations

import math
from typing import Any

from aggregation.models import Candle
from data_ingestion.models import Tick
from strategy.base import Decision
from strategy.models import Side, Strength
from strategy.oscillators import Bands


class BollingerReversion:
    """Bands of `period` closes, `k` standard deviations wide (population σ).

    BUY: previous close >= previous lower band and now close < lower band. SELL: previous close
    <= previous upper band and now close > upper band. The bands include the candle's own close
    (as pandas `rolling` does). A signal needs the bands ready now and on the previous candle.
    STRONG when the close is beyond its band by at least a quarter of k·σ.
    """

    name = "bollinger"

    __slots__ = ("_bands", "_prev_close", "_prev_lower", "_prev_upper", "k", "period")

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        self._bands = Bands(period, float(k))  # raises on bad parameters
        self.period = period
        self.k = float(k)
        self._prev_close = self._prev_lower = self._prev_upper = math.nan

    def parameters(self) -> dict[str, Any]:
        return {"period": self.period, "k": self.k}

    @property
    def ready(self) -> bool:
        return self._bands.ready

    def on_candle(self, candle: Candle, close: float) -> Decision | None:
        b = self._bands
        b.update(close)
        pc, pl, pu = self._prev_close, self._prev_lower, self._prev_upper
        self._prev_close, self._prev_lower, self._prev_upper = close, b.lower, b.upper
        margin = (b.upper - b.middle) / 4
        if pc >= pl and close < b.lower:  # False while anything is NaN
            return Decision(Side.BUY, _strength(close <= b.lower - margin), values=self._values())
        if pc <= pu and close > b.upper:
            return Decision(Side.SELL, _strength(close >= b.upper + margin), values=self._values())
        return None

    def on_tick(self, tick: Tick) -> Decision | None:
        return None

    def _values(self) -> dict[str, float]:
        b = self._bands
        return {"lower": b.lower, "middle": b.middle, "upper": b.upper}

    def state(self) -> dict[str, Any]:
        if not self.ready:
            return {"lower": None, "middle": None, "upper": None, "ready": False}
        return {**self._values(), "ready": True}


def _strength(strong: bool) -> Strength:
    return Strength.STRONG if strong else Strength.MODERATE
