"""A closed (or still open) 1-minute candle: the nine fields of Binance's kline, Decimal-exact."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

MINUTE_MS = 60_000


class CandleSource(StrEnum):
    STREAM = "stream"  # built from live trades
    BACKFILL = "backfill"  # some of its trades came from REST after a gap
    WARMUP = "warmup"  # taken from REST /api/v3/klines at start


@dataclass(frozen=True, slots=True)
class Candle:
    """Minute [open_time, open_time + 60000) of `symbol`. `complete` False: strategies skip it."""

    symbol: str
    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_base: Decimal
    taker_buy_quote: Decimal
    complete: bool = True
    source: CandleSource = CandleSource.STREAM

    @property
    def close_time(self) -> int:
        """Binance's kline close time: the last millisecond of the minute."""
        return self.open_time + MINUTE_MS - 1

    def to_kline_row(self) -> list[Any]:
        """The `/api/v3/klines` row layout, strings for decimals, as Binance sends it."""
        return [
            self.open_time,
            str(self.open),
            str(self.high),
            str(self.low),
            str(self.close),
            str(self.volume),
            self.close_time,
            str(self.quote_volume),
            self.trades,
            str(self.taker_buy_base),
            str(self.taker_buy_quote),
            "0",
        ]
