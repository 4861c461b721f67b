"""The domain's view of one trade, built once at the border from Binance's wire format."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Tick:
    """One exchange trade. Price and quantity are exact Decimals from Binance's strings."""

    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    trade_time_ms: int  # exchange trade time `T`, epoch ms UTC (µs inputs normalised)
    is_buyer_maker: bool  # `m`: True means the taker sold
    received_ms: int = 0  # local clock when the frame arrived (0 in replays)
    count: int = 1  # exchange trades this tick stands for: an aggTrade covers l - f + 1 (id = l)
