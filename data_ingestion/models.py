"""The domain's view of one trade, built once at the border from Binance's wire format."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple


class Tick(NamedTuple):
    """One exchange trade. Price and quantity are exact Decimals from Binance's strings.

    Immutable. A `NamedTuple` rather than a frozen dataclass: it is built once per trade on
    the hot path, and a frozen dataclass's `__init__` (one `object.__setattr__` per field)
    costs about three times as much (bench/ingest.py). Construction is positional or by
    keyword, reads are by attribute; tuple behaviour (indexing, unpacking) is not part of
    the contract: do not rely on the field order beyond construction.
    """

    symbol: str
    trade_id: int
    price: Decimal
    qty: Decimal
    trade_time_ms: int  # exchange trade time `T`, epoch ms UTC (µs inputs normalised)
    is_buyer_maker: bool  # `m`: True means the taker sold
    received_ms: int = 0  # local clock when the frame arrived (0 in replays)
    # Exchange trades this tick stands for: an aggTrade covers l - f + 1 (id = l). The name
    # shadows tuple.count(), which a Tick never needs.
    count: int = 1  # type: ignore[assignment]
