"""Domain objects -> the API's JSON values: one explicit function per type.

Decimals become strings in plain notation (never `0E-8` or `1.0E-7`); candles' decimals are
written as Binance writes its klines, with 8 decimal places (`Candle.to_kline_row`). Epoch-ms
times are sent with an ISO-8601 UTC twin (`*_iso`), named here field by field. The shapes are
the response models in `api.schemas`; the hub carries the domain objects and /ws serialises each
event once (`event_data`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aggregation.models import Candle
from aggregation.timeframes import INTERVAL_NAMES
from core.hub import CANDLE, CANDLE_UPDATE, SIGNAL, STATUS, TICK, Event
from data_ingestion.models import Tick
from service.health import FeedReport, HealthReport
from strategy.models import SignalRaised


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


def candle_data(candle: Candle, closed: bool = True) -> dict[str, Any]:
    """`closed` False for the candle still being built; `complete` False: trades are missing.
    `interval`: "1m" for the aggregator's minutes, "5m" … for the rolled-up ones."""
    row = candle.to_kline_row()
    return {
        "symbol": candle.symbol,
        "interval": INTERVAL_NAMES[candle.interval_ms],
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


def signal_data(signal: SignalRaised) -> dict[str, Any]:
    """A signal as GET /signals rows and /ws `signal` events both show it (`SignalOut`)."""
    return {
        "variant": signal.variant,
        "symbol": signal.symbol,
        "side": signal.side.value,
        "reason": signal.reason.value,
        "price": plain(signal.price),
        "time_ms": signal.time_ms,
        "time_iso": iso_ms(signal.time_ms),
        "ref": signal.ref,
        "strength": None if signal.strength is None else signal.strength.value,
        "ema": signal.ema,
        "sma": signal.sma,
        "action": signal.action,
        "indicators": indicator_values(signal.indicators),
    }


def indicator_values(values: dict[str, float] | None) -> dict[str, float | None] | None:
    """A strategy's indicator values; one not finite (not ready) as None, as JSON allows."""
    if values is None:
        return None
    return {name: v if math.isfinite(v) else None for name, v in values.items()}


def feed_data(feed: FeedReport) -> dict[str, Any]:
    last = feed.last_tick_ms
    return {
        "status": feed.status,
        "reconnects": feed.reconnects,
        "last_tick_ms": last,
        "last_tick_iso": None if last is None else iso_ms(last),
        "last_tick_age_s": feed.last_tick_age_s,
        "last_error": feed.last_error,
    }


def health_data(report: HealthReport) -> dict[str, Any]:
    return {
        "status": report.status,
        "reasons": list(report.reasons),
        "mode": report.mode,
        "uptime_s": report.uptime_s,
        "started_ms": report.started_ms,
        "started_iso": iso_ms(report.started_ms),
        "now_ms": report.now_ms,
        "now_iso": iso_ms(report.now_ms),
        "symbols": {symbol: feed_data(feed) for symbol, feed in report.symbols.items()},
        "variants": [
            {"variant": v.variant, "state": v.state.value, "reason": v.reason}
            for v in report.variants
        ],
        "notices": list(report.notices),
    }


def event_data(event: Event) -> Any:
    """The data of a hub event of the market side (candle, candle_update, tick, signal,
    status) as the API sends it; anything else as it was published (JSON-ready already)."""
    kind, data = event.kind, event.data
    if kind == CANDLE and isinstance(data, Candle):
        return candle_data(data)
    if kind == CANDLE_UPDATE and isinstance(data, Candle):
        return candle_data(data, closed=False)
    if kind == TICK and isinstance(data, Tick):
        return tick_data(data)
    if kind == SIGNAL and isinstance(data, SignalRaised):
        return signal_data(data)
    if kind == STATUS and isinstance(data, HealthReport):
        return health_data(data)
    return data
