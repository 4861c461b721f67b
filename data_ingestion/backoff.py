"""Capped, jittered exponential backoff for reconnects (reset after a healthy connection)."""

from __future__ import annotations

import random


class Backoff:
    """Delays of about `initial` seconds, growing ×`factor` up to `cap`, each ±`jitter`."""

    def __init__(
        self,
        initial: float = 0.5,
        factor: float = 1.8,
        cap: float = 30.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or factor < 1 or cap < initial or not 0 <= jitter < 1:
            raise ValueError("backoff needs initial > 0, factor >= 1, cap >= initial, jitter < 1")
        self.initial, self.factor, self.cap, self.jitter = initial, factor, cap, jitter
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        base = min(self.cap, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return min(self.cap, base * (1 + self.jitter * (2 * self._rng.random() - 1)))

    def reset(self) -> None:
        self.attempts = 0
