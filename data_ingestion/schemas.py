"""Binance's wire format (its own field names) and the conversion of a trade to a `Tick`.

The schemas are `TypedDict`s: python-binance already hands us decoded dicts, so a typed view of
that dict costs nothing per message. `trade_to_tick` converts such a dict; Binance's strings
become Decimals there.

Raw frames (bytes/str: recordings, the benchmark, any socket we read ourselves) take a faster
road in `parse_trade_frame`: msgspec decodes a combined `<sym>@trade` frame straight into a
small struct, type-checked in C, with no dict built (about twice as fast as orjson + dict).
Anything that is not a well-formed trade there goes the dict road, which names the problem.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

import msgspec
import orjson

from core.errors import BadInputError
from data_ingestion.models import Tick

# Epoch milliseconds stay below this until the year 5138; epoch microseconds are far above it.
_US_THRESHOLD = 100_000_000_000_000
_ZERO = Decimal(0)
_INF = Decimal("Infinity")
_loads = orjson.loads
# Tick(...) runs the NamedTuple's Python-level __new__: 20 % of a tick's whole parse and
# aggregation (bench/ingest.py: 287,670 against 374,218 ticks per CPU second). The parser
# builds the tuple directly, every field in declaration order (count = 1 for one trade);
# tests/data_ingestion/test_schemas.py checks the result equals Tick(...).
_tuple_new = tuple.__new__


class TradeEvent(TypedDict, total=False):
    """`<symbol>@trade` stream event. `b`/`a` (order ids) only in older events."""

    e: str  # event type, "trade"
    E: int  # event time
    s: str  # symbol
    t: int  # trade id
    p: str  # price
    q: str  # quantity
    b: int  # buyer order id (older events)
    a: int  # seller order id (older events)
    T: int  # trade time (ms; µs with timeUnit=MICROSECOND)
    m: bool  # is the buyer the market maker?
    M: bool  # ignore


class AggTradeEvent(TypedDict, total=False):
    """`<symbol>@aggTrade` event and `/api/v3/aggTrades` row (REST rows have no e/E/s)."""

    e: str
    E: int
    s: str
    a: int  # aggregate trade id
    p: str
    q: str
    f: int  # first trade id
    l: int  # last trade id  # noqa: E741
    T: int
    m: bool
    M: bool


class RestTrade(TypedDict):
    """`/api/v3/trades` and `/api/v3/historicalTrades` row."""

    id: int
    price: str
    qty: str
    quoteQty: str
    time: int
    isBuyerMaker: bool
    isBestMatch: bool


class CombinedEnvelope(TypedDict):
    """Combined-stream wrapper: `{"stream": "btcusdt@trade", "data": <event>}`."""

    stream: str
    data: dict[str, Any]


class StreamError(TypedDict):
    """python-binance's own error message on the socket's queue (not from Binance)."""

    e: str  # "error"
    type: str  # e.g. BinanceWebsocketUnableToConnect, BinanceWebsocketQueueOverflow
    m: str


class FrameError(BadInputError):
    """A frame that is not a well-formed trade event. The feed counts, logs and skips it."""


class NotATrade(FrameError):
    """A well-formed frame of another kind (depth, kline, ...): skipped, not an error."""


def normalise_ms(t: int) -> int:
    """Trade times in µs (timeUnit=MICROSECOND, data.binance.vision since 2025) become ms."""
    return t // 1000 if t > _US_THRESHOLD else t


def is_stream_error(msg: dict[str, Any]) -> bool:
    """True for python-binance's `{"e": "error", "type": ..., "m": ...}` queue messages."""
    return msg.get("e") == "error"


def decode_frame(raw: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """The event dict of a frame: bytes/str are decoded, a combined envelope is unwrapped."""
    if isinstance(raw, dict):
        msg = raw
    else:
        try:
            msg = _loads(raw)
        except orjson.JSONDecodeError as exc:
            raise FrameError(f"not JSON: {exc}") from None
        if type(msg) is not dict:
            raise FrameError(f"not a JSON object: {type(msg).__name__}")
    data = msg.get("data")
    if data is not None and "stream" in msg:
        if type(data) is not dict:
            raise FrameError("combined-stream envelope whose data is not an object")
        return data
    return msg


def trade_to_tick(ev: dict[str, Any], received_ms: int) -> Tick:
    """The one conversion of a Binance trade event to a `Tick` (Decimal from the strings).

    Hot path (once per trade): exact `type(...) is` checks, and one chained comparison
    `0 < x < Infinity` that rejects zero, negatives and infinities (a NaN raises).
    """
    try:
        if ev.get("e") != "trade":  # bookTicker events carry no `e` at all
            raise NotATrade(f"not a trade event: e={ev.get('e')!r}")
        symbol, trade_id, t, maker, p, q = ev["s"], ev["t"], ev["T"], ev["m"], ev["p"], ev["q"]
        if type(p) is not str or type(q) is not str:
            raise FrameError(f"trade event whose price or quantity is not a string: {p!r} {q!r}")
        price, qty = Decimal(p), Decimal(q)
    except KeyError as exc:
        raise FrameError(f"trade event without field {exc.args[0]!r}") from None
    except (InvalidOperation, ValueError):
        raise FrameError(f"trade event with a bad price or quantity: p={p!r} q={q!r}") from None
    if (
        type(trade_id) is not int
        or type(t) is not int
        or type(maker) is not bool
        or type(symbol) is not str
        or not symbol
    ):
        raise FrameError("trade event with a field of the wrong type (s, t, T or m)")
    try:
        positive = _ZERO < price < _INF and _ZERO < qty < _INF
    except InvalidOperation:  # NaN
        positive = False
    if not positive:
        raise FrameError(f"trade event with a non-positive price or quantity: {price} x {qty}")
    if t > _US_THRESHOLD:
        t //= 1000
    return _tuple_new(Tick, (symbol, trade_id, price, qty, t, maker, received_ms, 1))


class _TradeWire(msgspec.Struct):
    """The fields of a `<symbol>@trade` event a Tick needs (the others are skipped)."""

    e: str
    s: str
    t: int
    p: str
    q: str
    T: int
    m: bool


class _CombinedTradeWire(msgspec.Struct):
    stream: str
    data: _TradeWire


_decode_combined_trade = msgspec.json.Decoder(_CombinedTradeWire).decode


def parse_trade_frame(raw: bytes | str | dict[str, Any], received_ms: int) -> Tick:
    """A raw frame (bytes as the socket delivers them, str, or python-binance's dict) -> Tick.

    Raises `NotATrade` for other well-formed events (including python-binance's error dicts,
    which the supervisor inspects before calling this) and `FrameError` for malformed ones.
    """
    if not isinstance(raw, dict):
        try:
            ev = _decode_combined_trade(raw).data
            price, qty = Decimal(ev.p), Decimal(ev.q)
            ok = ev.e == "trade" and ev.s and _ZERO < price < _INF and _ZERO < qty < _INF
        except (msgspec.DecodeError, InvalidOperation, ValueError):
            ok = False  # msgspec.ValidationError is a DecodeError
        if ok:
            t = ev.T // 1000 if ev.T > _US_THRESHOLD else ev.T
            return _tuple_new(Tick, (ev.s, ev.t, price, qty, t, ev.m, received_ms, 1))
    return _parse_dict_road(raw, received_ms)


def _parse_dict_road(raw: bytes | str | dict[str, Any], received_ms: int) -> Tick:
    ev = decode_frame(raw)
    if ev.get("e") == "error":
        raise NotATrade(f"python-binance error message: {ev.get('type')}: {ev.get('m')}")
    return trade_to_tick(ev, received_ms)
