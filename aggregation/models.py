"""A closed (or still open) 1-minute candle: the nine fields of Binance's kline, Decimal-exact."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.clock import MINUTE_MS

_EIGHT_PLACES = Decimal("1e-8")


def kline_decimal(value: Decimal) -> str:
    """A decimal as Binance writes klines: 8 places when that is exact, never an exponent.

    `str(Decimal)` would give `0E-8` for a flat minute's volume, where Binance writes
    `0.00000000`; a value with more than 8 places (never seen in klines) keeps all of them.
    """
    eight = value.quantize(_EIGHT_PLACES)
    return format(eight if eight == value else value, "f")


class CandleSource(StrEnum):
    STREAM = "stream"  # built from live trades
    BACKFILL = "backfill"  # some of its trades came from REST after a gap
    WARMUP = "warmup"  # taken from REST /api/v3/klines at start


@dataclass(frozen=True, slots=True)
class Candle:
    """Interval [open_time, open_time + interval_ms) of `symbol`, a minute unless rolled up.

    `complete` False: trades (or minutes) are missing, and strategies skip it.
    """

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
    # 60000 for the aggregator's minutes; a higher timeframe's length (aggregation.timeframes).
    interval_ms: int = MINUTE_MS

    @property
    def close_time(self) -> int:
        """Binance's kline close time: the last millisecond of the candle's interval."""
        return self.open_time + self.interval_ms - 1

    def to_kline_row(self) -> list[Any]:
        """The `/api/v3/klines` row layout, decimals as strings written as Binance writes them."""
        return [
            self.open_time,
            kline_decimal(self.open),
            kline_decimal(self.high),
            kline_decimal(self.low),
            kline_decimal(self.close),
            kline_decimal(self.volume),
            self.close_time,
            kline_decimal(self.quote_volume),
            self.trades,
            kline_decimal(self.taker_buy_base),
            kline_decimal(self.taker_buy_quote),
            "0",
        ]
