"""Domain objects -> JSON-ready values, for hub events and WebSocket frames.

Decimals become strings in plain notation (never `0E-8` or `1.0E-7`); candles' decimals are
written as Binance writes its klines, with 8 decimal places (`Candle.to_kline_row`, the same
formatting as the candles CLI). Every epoch-ms field `x_ms` / `x_time`
gets an ISO-8601 UTC twin `x_iso`; enums become their values. Encoding is done once per event.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from aggregation.models import Candle
from data_ingestion.models import Tick


def iso_ms(ms: int) -> str:
    """Epoch milliseconds -> `2024-01-01T00:00:00.000Z`."""
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def plain(value: Decimal) -> str:
    """A decimal as text in plain notation: `str()` unless that would use an exponent."""
    text = str(value)
    if "E" not in text:
        return text
    if not value:  # 0E-8, -0E-8
        value = abs(value)
    return format(value, "f")


def plain_text(text: str | None) -> str | None:
    """A decimal string (e.g. a journal field) in plain notation; None stays None."""
    if text is None or ("E" not in text and "e" not in text):
        return text
    return plain(Decimal(text))


def _is_time_field(name: str) -> bool:
    return name.endswith(("_ms", "_time")) or name in {"time", "ts"}


def _iso_name(name: str) -> str:
    return name.removesuffix("_ms") + "_iso" if name.endswith("_ms") else name + "_iso"


def candle_data(candle: Candle, closed: bool = True) -> dict[str, Any]:
    """`closed` False for the minute still being built; `complete` False: trades are missing."""
    row = candle.to_kline_row()
    return {
        "symbol": candle.symbol,
        "open_time": candle.open_time,
        "close_time": candle.close_time,
        "open_time_iso": iso_ms(candle.open_time),
        "close_time_iso": iso_ms(candle.close_time),
        "open": row[1],
        "high": row[2],
        "low": row[3],
        "close": row[4],
        "volume": row[5],
        "quote_volume": row[7],
        "trades": candle.trades,
        "taker_buy_base": row[9],
        "taker_buy_quote": row[10],
        "complete": candle.complete,
        "closed": closed,
        "source": candle.source.value,
    }


def tick_data(tick: Tick) -> dict[str, Any]:
    return {
        "symbol": tick.symbol,
        "trade_id": tick.trade_id,
        "price": plain(tick.price),
        "qty": plain(tick.qty),
        "trade_time_ms": tick.trade_time_ms,
        "trade_time_iso": iso_ms(tick.trade_time_ms),
        "is_buyer_maker": tick.is_buyer_maker,
    }


def to_data(obj: Any) -> Any:
    """Any domain value (dataclass, dict, list, Decimal, enum) -> a JSON-ready value."""
    if isinstance(obj, Candle):
        return candle_data(obj)
    if isinstance(obj, Tick):
        return tick_data(obj)
    if isinstance(obj, bool | int | float | str) or obj is None:
        return obj
    if isinstance(obj, Decimal):
        return plain(obj)
    if isinstance(obj, Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _mapping_data({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    if isinstance(obj, dict):
        return _mapping_data(obj)
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_data(item) for item in obj]
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_data(to_dict())
    return str(obj)


def _mapping_data(mapping: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = str(key)
        out[name] = to_data(value)
        if _is_time_field(name) and not isinstance(value, bool):
            if isinstance(value, int):
                out.setdefault(_iso_name(name), iso_ms(value))
            elif value is None:
                out.setdefault(_iso_name(name), None)
    return out


def dumps(obj: Any) -> bytes:
    """JSON bytes of `to_data(obj)`; orjson keeps it fast enough for every event."""
    return orjson.dumps(to_data(obj))
