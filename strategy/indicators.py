"""Incremental moving averages, O(1) per value.

They work on floats: an average is a signal input, never an order price. What is compared with
a price to trade is the stop level, which the engine computes in Decimal (see engine.py).
"""

from __future__ import annotations

import math


class SMA:
    """Simple moving average over the last `period` values: pandas `rolling(period).mean()`."""

    __slots__ = ("_buf", "_count", "_i", "_sum", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError("period must be at least 1")
        self.period = period
        self._buf = [0.0] * period
        self._i = 0
        self._count = 0
        self._sum = 0.0
        self.value = math.nan  # NaN until `period` values were seen

    @property
    def ready(self) -> bool:
        return self._count >= self.period

    def update(self, x: float) -> float:
        buf = self._buf
        i = self._i
        self._sum += x - buf[i]
        buf[i] = x
        i += 1
        if i == self.period:
            # Once per full window, re-add it exactly: the running sum cannot drift (O(1)
            # amortised), and the first value after warm-up is an exact sum too.
            i = 0
            self._sum = math.fsum(buf)
        self._i = i
        if self._count < self.period:
            self._count += 1
            if self._count < self.period:
                return self.value
            self._sum = math.fsum(buf)
        self.value = self._sum / self.period
        return self.value


class EMA:
    """Exponential moving average: pandas `ewm(span=period, adjust=False).mean()`.

    Seeded by the first value; y = (1 - alpha) * y_prev + alpha * x with alpha = 2 / (period + 1).
    `ready` after `period` values (a warm-up like the SMA's; the value exists from the first).
    """

    __slots__ = ("_alpha", "_beta", "_count", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError("period must be at least 1")
        self.period = period
        self._alpha = 2.0 / (period + 1)
        self._beta = 1.0 - self._alpha
        self._count = 0
        self.value = math.nan

    @property
    def ready(self) -> bool:
        return self._count >= self.period

    def update(self, x: float) -> float:
        if self._count == 0:
            self.value = x
        else:
            self.value = self._beta * self.value + self._alpha * x
        if self._count < self.period:
            self._count += 1
        return self.value


class Stamped:
    """One indicator of a stream, fed each bar once however many strategies read it: the
    first `update(x, at)` of bar `at` (its open time) moves it, the others get its value."""

    __slots__ = ("_at", "_indicator", "value")

    def __init__(self, indicator: SMA | EMA) -> None:
        self._indicator = indicator
        self._at: int | None = None
        self.value = math.nan

    @property
    def period(self) -> int:
        return self._indicator.period

    @property
    def ready(self) -> bool:
        return self._indicator.ready

    def update(self, x: float, at: int) -> float:
        if at != self._at:
            self._at = at
            self.value = self._indicator.update(x)
        return self.value


class Series:
    """The indicators of one stream of closes (a symbol at an interval), each kind and period
    made once: strategies given the same Series share them, so several trials of one sweep
    that use EMA(5) compute it once per bar. A strategy built alone gets a Series of its own.
    """

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[tuple[str, int], Stamped] = {}

    def ema(self, period: int) -> Stamped:
        return self._get("ema", period, EMA)

    def sma(self, period: int) -> Stamped:
        return self._get("sma", period, SMA)

    def _get(self, kind: str, period: int, make: type[SMA] | type[EMA]) -> Stamped:
        made = self._made.get((kind, period))
        if made is None:
            made = self._made[(kind, period)] = Stamped(make(period))
        return made

    def names(self) -> list[str]:
        """What it computes, as `ema(5)`, in the order first asked for."""
        return [f"{kind}({period})" for kind, period in self._made]
