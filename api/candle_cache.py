"""JSON of closed candles, encoded once: a closed candle never changes, so GET /candles
re-serialises nothing but the open one (the REST latency goal is per request, under ingest)."""

from __future__ import annotations

import orjson

from aggregation.models import Candle
from api.serialize import candle_data


class CandleJsonCache:
    """Per (symbol, interval): open time -> (the candle object, its JSON). A different object
    for the same candle (a backfill re-close, a re-added symbol) is re-encoded."""

    def __init__(self, max_per_symbol: int) -> None:
        self._max = max(10, max_per_symbol)
        self._by_series: dict[tuple[str, int], dict[int, tuple[Candle, bytes]]] = {}

    def encode(self, candle: Candle) -> bytes:
        table = self._by_series.setdefault((candle.symbol, candle.interval_ms), {})
        hit = table.get(candle.open_time)
        if hit is not None and hit[0] is candle:
            return hit[1]
        if len(table) >= self._max:
            table.clear()  # old minutes fell out of the history; rebuilt lazily
        raw = orjson.dumps(candle_data(candle))
        table[candle.open_time] = (candle, raw)
        return raw

    def encode_list(self, candles: list[Candle]) -> bytes:
        return b"[" + b",".join(self.encode(c) for c in candles) + b"]"
