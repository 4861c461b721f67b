"""The most recent signals, kept in memory for GET /signals and the WebSocket snapshot."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from strategy.models import SignalRaised


class SignalLog:
    """A bounded, newest-last record of every signal the strategy raised."""

    def __init__(self, maxlen: int = 5000) -> None:
        self._signals: deque[SignalRaised] = deque(maxlen=maxlen)
        self.on_add: Callable[[SignalRaised], None] | None = None  # e.g. into the journal

    @property
    def maxlen(self) -> int:
        return self._signals.maxlen or 0

    def add(self, signal: SignalRaised) -> None:
        self._signals.append(signal)
        if self.on_add is not None:
            self.on_add(signal)

    def restore(self, signals: Iterable[SignalRaised]) -> None:
        """Earlier signals (from the journal at start), before any new one."""
        earlier = deque(signals, maxlen=self._signals.maxlen)
        earlier.extend(self._signals)
        self._signals = earlier

    def query(
        self, symbol: str | None = None, variant: str | None = None, limit: int = 100
    ) -> list[SignalRaised]:
        """Newest `limit` signals matching the filters, oldest first."""
        out: list[SignalRaised] = []
        for signal in reversed(self._signals):
            if symbol is not None and signal.symbol != symbol:
                continue
            if variant is not None and signal.variant != variant:
                continue
            out.append(signal)
            if len(out) >= limit:
                break
        out.reverse()
        return out

    def __len__(self) -> int:
        return len(self._signals)
