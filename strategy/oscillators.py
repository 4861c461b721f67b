"""Incremental RSI, MACD and Bollinger bands, O(1) per value (amortised for the bands).

Floats, like the moving averages: they are signal inputs, never order prices. Each class says
which pandas computation it equals; tests/strategy/test_library.py checks that on real klines.
"""

from __future__ import annotations

import math

from strategy.indicators import EMA


class RSI:
    """Wilder's relative strength index over `period` changes of the close.

    The first average gain (loss) is the plain mean of the first `period` gains (losses);
    after that avg = (avg·(period − 1) + x) / period, i.e. pandas
    `ewm(alpha=1/period, adjust=False)` seeded with that mean. RSI = 100 − 100 / (1 + gain/loss);
    100 when there was no loss, 50 when the price did not move at all. NaN until `period` + 1
    closes were seen.
    """

    __slots__ = ("_count", "_gain", "_loss", "_prev", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError("period must be at least 1")
        self.period = period
        self._count = 0  # changes seen
        self._prev = math.nan
        self._gain = 0.0
        self._loss = 0.0
        self.value = math.nan

    @property
    def ready(self) -> bool:
        return self._count >= self.period

    def update(self, x: float) -> float:
        prev = self._prev
        self._prev = x
        if math.isnan(prev):
            return self.value
        change = x - prev
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        n = self.period
        if self._count < n:
            self._gain += gain  # sums during the seed window
            self._loss += loss
            self._count += 1
            if self._count < n:
                return self.value
            self._gain /= n
            self._loss /= n
        else:
            self._gain = (self._gain * (n - 1) + gain) / n
            self._loss = (self._loss * (n - 1) + loss) / n
        g, lo = self._gain, self._loss
        if lo == 0.0:
            self.value = 50.0 if g == 0.0 else 100.0
        else:
            self.value = 100.0 - 100.0 / (1.0 + g / lo)
        return self.value


class MACD:
    """MACD line = EMA(fast) − EMA(slow); signal = EMA(signal) of the MACD line; histogram =
    line − signal. Every EMA is pandas `ewm(span=…, adjust=False)` seeded with its first value.
    `ready` once the slow EMA and then the signal EMA have had their periods of values
    (slow + signal − 1 closes)."""

    __slots__ = ("_count", "_fast", "_signal", "_slow", "hist", "line", "signal", "warm_up")

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        if not 1 <= fast < slow or signal < 1:
            raise ValueError(f"need 1 <= fast < slow and signal >= 1, got {fast}, {slow}, {signal}")
        self._fast = EMA(fast)
        self._slow = EMA(slow)
        self._signal = EMA(signal)
        self.warm_up = slow + signal - 1
        self._count = 0
        self.line = self.signal = self.hist = math.nan

    @property
    def ready(self) -> bool:
        return self._count >= self.warm_up

    def update(self, x: float) -> float:
        """Feed a close; returns the histogram."""
        line = self._fast.update(x) - self._slow.update(x)
        signal = self._signal.update(line)
        if self._count < self.warm_up:
            self._count += 1
        self.line, self.signal, self.hist = line, signal, line - signal
        return self.hist


class Bands:
    """Bollinger bands: middle = mean of the last `period` closes, upper/lower = middle ± k·σ,
    σ the population standard deviation (ddof=0, as Bollinger defined it): pandas
    `rolling(period).mean()` and `rolling(period).std(ddof=0)`.

    The window's mean and sum of squared deviations are updated in O(1) (a rolling Welford
    step, in deviations, so no large squares cancel) and recomputed exactly once per full
    window, so they cannot drift. NaN until `period` values were seen.
    """

    __slots__ = ("_buf", "_count", "_i", "_m2", "_mean", "k", "lower", "middle", "period", "upper")

    def __init__(self, period: int, k: float) -> None:
        if period < 2 or not k > 0:
            raise ValueError(f"need period >= 2 and k > 0, got {period}, {k}")
        self.period = period
        self.k = k
        self._buf = [0.0] * period
        self._i = 0
        self._count = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.middle = self.upper = self.lower = math.nan

    @property
    def ready(self) -> bool:
        return self._count >= self.period

    @property
    def sigma(self) -> float:
        return math.sqrt(max(self._m2, 0.0) / self.period) if self.ready else math.nan

    def update(self, x: float) -> float:
        """Feed a close; returns the middle band."""
        n = self.period
        buf, i = self._buf, self._i
        old = buf[i]
        buf[i] = x
        i += 1
        if i == n:
            i = 0
        self._i = i
        if self._count < n:
            self._count += 1
            if self._count < n:
                return self.middle
            self._resync()
        elif i == 0:
            self._resync()  # once per full window: exact again
        else:
            mean = self._mean + (x - old) / n
            self._m2 += (x - old) * (x - mean + old - self._mean)
            self._mean = mean
        width = self.k * self.sigma
        self.middle = self._mean
        self.upper = self._mean + width
        self.lower = self._mean - width
        return self.middle

    def _resync(self) -> None:
        mean = math.fsum(self._buf) / self.period
        self._mean = mean
        self._m2 = math.fsum((v - mean) * (v - mean) for v in self._buf)
