"""What a /ws client may send, and the reply: change its channels, symbols and candle intervals.

A message is checked whole before anything changes: an unknown symbol or interval, like a
malformed message, gets an `error` reply and leaves the subscription as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from aggregation.timeframes import INTERVALS
from api.errors import short
from core.hub import ERROR, STATUS, Subscriber

MAX_DETAIL = 500  # characters of an error reply's detail
MAX_ITEMS = 64  # channels, symbols or intervals in one message
Channel = Literal[
    "candle",
    "candle_update",
    "tick",
    "signal",
    "order",
    "trade",
    "position",
    "status",
    "error",
    "performance",
    "notice",
]
Symbol = Annotated[str, StringConstraints(min_length=1, max_length=20)]
Interval = Annotated[str, StringConstraints(min_length=1, max_length=8)]
Keep = Callable[[Iterable[str]], None]  # the timeframe book's `keep`: build these intervals


class ClientOp(BaseModel):
    """What a client may send: change which channels, symbols and candle intervals it receives.
    Symbols must be ones the service streams, intervals ones it builds (`INTERVALS`), so a
    connection's subscription is bounded by the service's."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["subscribe", "unsubscribe"]
    channels: list[Channel] = Field(default_factory=list, max_length=MAX_ITEMS)
    symbols: list[Symbol] = Field(default_factory=list, max_length=MAX_ITEMS)
    intervals: list[Interval] = Field(default_factory=list, max_length=MAX_ITEMS)


class BadOp(ValueError):
    """A client message that is refused (its text is the error reply's detail, bounded)."""


def _listed(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def apply_op(sub: Subscriber, op: ClientOp, known_symbols: list[str]) -> None:
    """Subscribe adds channels, symbols and intervals; unsubscribe removes them. Initially: all
    symbols, 1m candles. A symbol the service does not stream, or an interval it does not
    build, refuses the whole message (`BadOp`) and changes nothing."""
    symbols = {s.strip().upper() for s in op.symbols}
    unknown = sorted(symbols - set(known_symbols))
    if unknown:
        raise BadOp(f"not streamed: {_listed(unknown)} (streamed: {', '.join(known_symbols)})")
    intervals = {i.strip() for i in op.intervals}
    bad = sorted(intervals - set(INTERVALS))
    if bad:
        raise BadOp(f"not an interval: {_listed(bad)} (intervals: {', '.join(INTERVALS)})")
    if op.op == "subscribe":
        sub.kinds |= set(op.channels)
        if symbols:
            sub.symbols = symbols if sub.symbols is None else sub.symbols | symbols
        sub.intervals |= intervals
    else:
        sub.kinds -= set(op.channels)
        if symbols:
            current = set(known_symbols) if sub.symbols is None else sub.symbols
            sub.symbols = current - symbols
        sub.intervals -= intervals


def problems_of(exc: ValidationError) -> str:
    """pydantic's errors as one bounded line (locations cut short, never the input)."""
    parts = []
    for e in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(short(p)) for p in e["loc"][:4]) or "message"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)[:MAX_DETAIL]


def subscription(sub: Subscriber) -> dict[str, Any]:
    """What the connection receives now (the ack of every op, and in the snapshot)."""
    return {
        "channels": sorted(sub.kinds),
        "symbols": None if sub.symbols is None else sorted(sub.symbols),
        "intervals": [name for name in INTERVALS if name in sub.intervals],
    }


def reply_to(text: str, sub: Subscriber, known_symbols: list[str], keep: Keep) -> tuple[str, Any]:
    """One client message applied: (`status`, the subscription) or (`error`, why; nothing
    changed). Intervals subscribed to are built from now on (`keep`)."""
    try:
        op = ClientOp.model_validate_json(text)
        apply_op(sub, op, known_symbols)
    except ValidationError as exc:
        return ERROR, {"error": "bad message", "detail": problems_of(exc)}
    except BadOp as exc:
        return ERROR, {"error": "bad message", "detail": str(exc)[:MAX_DETAIL]}
    if op.op == "subscribe" and op.intervals:
        keep(i.strip() for i in op.intervals)
    return STATUS, {"subscription": subscription(sub)}
