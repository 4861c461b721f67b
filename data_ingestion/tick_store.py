"""The latest ticks and the last price of each symbol, bounded in memory."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from data_ingestion.models import Tick


class TickStore:
    """A ring of the latest `maxlen_per_symbol` ticks per symbol (old ones fall off)."""

    def __init__(self, maxlen_per_symbol: int) -> None:
        if maxlen_per_symbol < 1:
            raise ValueError("maxlen_per_symbol must be at least 1")
        self._maxlen = maxlen_per_symbol
        self._ticks: dict[str, deque[Tick]] = {}

    def add(self, tick: Tick) -> None:
        ring = self._ticks.get(tick.symbol)
        if ring is None:
            ring = self._ticks[tick.symbol] = deque(maxlen=self._maxlen)
        ring.append(tick)

    def latest(self, symbol: str, limit: int | None = None) -> list[Tick]:
        """The newest `limit` ticks of `symbol`, oldest first."""
        ring = self._ticks.get(symbol)
        if not ring:
            return []
        if limit is None or limit >= len(ring):
            return list(ring)
        if limit <= 0:
            return []
        return list(ring)[-limit:]

    def last_tick(self, symbol: str) -> Tick | None:
        ring = self._ticks.get(symbol)
        return ring[-1] if ring else None

    def last_price(self, symbol: str) -> Decimal | None:
        ring = self._ticks.get(symbol)
        return ring[-1].price if ring else None

    def drop(self, symbol: str) -> None:
        self._ticks.pop(symbol, None)

    def symbols(self) -> list[str]:
        return list(self._ticks)
