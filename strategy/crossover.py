"""EMA/SMA crossover: BUY when the EMA crosses above the SMA, SELL when it crosses below."""

from __future__ import annotations

import math
from typing import Any

from aggregation.models import Candle
from data_ingestion.models import Tick
from strategy.base import Decision
from strategy.indicators import Series
from strategy.models import Side, Strength


class Crossover:
    """Crossover of EMA(`ema_period`) and SMA(`sma_period`) on closes.

    BUY: previous EMA <= previous SMA and now EMA > SMA. SELL: previous EMA >= previous SMA and
    now EMA < SMA. A crossover needs both averages ready now and on the previous candle.
    STRONG when the close is also beyond both averages in the signal's direction.

    The averages come from `series`, the stream's indicators, shared with the other strategies
    on it (an optimiser's trials with the same EMA period compute it once per bar).
    """

    name = "ema_sma"
    shares_series = True

    __slots__ = ("_ema", "_prev_ema", "_prev_sma", "_sma", "ema_period", "sma_period")

    def __init__(
        self, ema_period: int = 5, sma_period: int = 10, *, series: Series | None = None
    ) -> None:
        if not 1 <= ema_period < sma_period:
            raise ValueError(f"need 1 <= ema_period < sma_period, got {ema_period}, {sma_period}")
        self.ema_period = ema_period
        self.sma_period = sma_period
        series = series or Series()
        self._ema = series.ema(ema_period)
        self._sma = series.sma(sma_period)
        self._prev_ema = math.nan  # NaN compares False: no crossover until both were ready
        self._prev_sma = math.nan

    def parameters(self) -> dict[str, Any]:
        return {"ema_period": self.ema_period, "sma_period": self.sma_period}

    @property
    def ready(self) -> bool:
        return self._sma.ready and self._ema.ready

    def on_candle(self, candle: Candle, close: float) -> Decision | None:
        at = candle.open_time
        ema = self._ema.update(close, at)
        sma = self._sma.update(close, at)
        pe, ps = self._prev_ema, self._prev_sma
        self._prev_ema, self._prev_sma = ema, sma
        if pe <= ps and ema > sma:  # False while any value is NaN
            if not self._ema.ready:
                return None
            strong = close > ema and close > sma
            return Decision(Side.BUY, Strength.STRONG if strong else Strength.MODERATE, ema, sma)
        if pe >= ps and ema < sma:
            if not self._ema.ready:
                return None
            strong = close < ema and close < sma
            return Decision(Side.SELL, Strength.STRONG if strong else Strength.MODERATE, ema, sma)
        return None

    def on_tick(self, tick: Tick) -> Decision | None:
        return None

    def state(self) -> dict[str, Any]:
        ema, sma = self._ema.value, self._sma.value
        return {
            "ema": None if math.isnan(ema) else ema,
            "sma": None if math.isnan(sma) else sma,
            "ready": self.ready,
        }
