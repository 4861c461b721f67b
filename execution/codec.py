"""The journal's line format, in one place: typed entries to JSON objects and back.

Entries are `OrderRecord`s (one line per status change: `intent` before the request, then
`filled`, `rejected` or `abandoned`), `SignalNote`s (the signal history with its indicator
values, so it survives a restart), `ExchangeReset`s (the exchange was wiped: what the journal
held is gone), `VariantControl`s (a person paused, resumed or re-configured a variant: it
survives restarts) and `CandleNote`s (each closed 1-minute candle: the chart's history and the
closes the figures are marked at).
A line that is JSON but not one of these shapes raises `JournalFormatError` naming what is
wrong; the journal adds the file and line number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aggregation.models import Candle, CandleSource
from core.errors import FatalError
from execution.models import OrderRecord, OrderStatus
from execution.numbers import plain as _plain
from strategy.models import Side, SignalRaised, SignalReason, Strength

SIGNAL = "signal"
CANDLE = "candle"
RESET = "reset"
REPAIR = "repair"
CONTROL = "control"
CONTROL_ACTIONS = ("pause", "resume", "configure")


class JournalFormatError(FatalError):
    """A journal line has the wrong shape: needs a human (positions would be rebuilt wrong)."""


@dataclass(frozen=True, slots=True)
class SignalNote:
    """A signal the strategy raised, journaled so that the signal history survives restarts."""

    signal: SignalRaised


@dataclass(frozen=True, slots=True)
class ExchangeReset:
    """The exchange no longer knows this journal's orders (a testnet reset): positions end."""

    time_ms: int
    detail: str


@dataclass(frozen=True, slots=True)
class VariantControl:
    """A person's command to a variant, replayed in order at start: `pause` (no new entries;
    exits and stops go on), `resume`, or `configure` (the stop-loss and/or the strategy's
    parameters, already validated, as they are from then on)."""

    time_ms: int
    variant: str
    action: str  # one of CONTROL_ACTIONS
    reason: str = ""
    stop_loss: Decimal | None = None
    parameters: tuple[tuple[str, int | float], ...] = ()


@dataclass(frozen=True, slots=True)
class CandleNote:
    """A 1-minute candle as the pipeline closed it: kept for the chart's history, and replayed
    at start so that the figures marked at its close come back the same (execution.accounts)."""

    candle: Candle


Entry = OrderRecord | SignalNote | ExchangeReset | VariantControl | CandleNote


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else _plain(value)


def encode(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, OrderRecord):
        return _encode_order(entry)
    if isinstance(entry, SignalNote):
        s = entry.signal
        return {
            "type": SIGNAL, "variant": s.variant, "symbol": s.symbol, "side": s.side.value,
            "reason": s.reason.value, "price": _plain(s.price), "time": s.time_ms, "ref": s.ref,
            "strength": None if s.strength is None else s.strength.value,
            "ema": s.ema, "sma": s.sma, "action": s.action,
            "indicators": _indicators_out(s.indicators),
        }  # fmt: skip
    if isinstance(entry, CandleNote):
        c = entry.candle
        return {
            "type": CANDLE, "symbol": c.symbol, "time": c.close_time, "open_time": c.open_time,
            "open": _plain(c.open), "high": _plain(c.high), "low": _plain(c.low),
            "close": _plain(c.close), "volume": _plain(c.volume),
            "quote_volume": _plain(c.quote_volume), "trades": c.trades,
            "taker_buy_base": _plain(c.taker_buy_base),
            "taker_buy_quote": _plain(c.taker_buy_quote), "complete": c.complete,
            "source": c.source.value,
        }  # fmt: skip
    if isinstance(entry, VariantControl):
        return {
            "type": CONTROL, "time": entry.time_ms, "variant": entry.variant,
            "action": entry.action, "reason": entry.reason,
            "stop_loss": _opt(entry.stop_loss), "parameters": dict(entry.parameters),
        }  # fmt: skip
    return {"type": RESET, "time": entry.time_ms, "detail": entry.detail}


def _encode_order(r: OrderRecord) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "type": r.status.value, "client_order_id": r.client_order_id, "variant": r.variant,
        "symbol": r.symbol, "side": r.side.value, "quantity": _plain(r.quantity),
        "reason": r.reason.value, "mode": r.mode, "signal_time": r.signal_time_ms,
        "time": r.time_ms, "closing": r.closing, "ref": r.ref, "price_hint": _opt(r.price_hint),
    }  # fmt: skip
    if r.order_type != "MARKET":
        rec.update(order_type=r.order_type, stop_price=_opt(r.stop_price))
    if r.exchange_order_id is not None:
        rec["exchange_order_id"] = r.exchange_order_id
    if r.status is OrderStatus.FILLED:
        rec.update(
            executed_qty=_plain(r.executed_qty),
            avg_price=_opt(r.avg_price), quote_qty=_plain(r.quote_qty),
            commission=_plain(r.commission), commission_asset=r.commission_asset,
            fill_time=r.fill_time_ms, realized_pnl=_opt(r.realized_pnl),
        )  # fmt: skip
    elif r.status not in (OrderStatus.INTENT, OrderStatus.OPEN):
        rec.update(code=r.error_code, error=r.error)
    return rec


def decode(obj: dict[str, Any]) -> Entry | None:
    """A journal object back into its entry (None for a `repair` marker)."""
    kind = obj.get("type")
    try:
        if kind == REPAIR:
            return None
        if kind == SIGNAL:
            return SignalNote(_decode_signal(obj))
        if kind == RESET:
            return ExchangeReset(int(obj["time"]), str(obj.get("detail", "")))
        if kind == CONTROL:
            return _decode_control(obj)
        if kind == CANDLE:
            return CandleNote(_decode_candle(obj))
        return _decode_order(obj)
    except KeyError as exc:
        raise JournalFormatError(f"{kind or 'record'} without {exc.args[0]!r}") from None
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise JournalFormatError(f"{kind or 'record'} with a bad value: {exc}") from None


def _dec(obj: dict[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    if value is None:
        return None
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"{key} is not finite")
    return number


def _int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{key} is not a whole number")
    return int(value)


def _decode_order(obj: dict[str, Any]) -> OrderRecord:
    try:
        status = OrderStatus(obj["type"])
    except ValueError:
        raise ValueError(f"unknown type {obj['type']!r}") from None
    quantity = _dec(obj, "quantity")
    if quantity is None:
        raise KeyError("quantity")
    return OrderRecord(
        status=status,
        client_order_id=str(obj["client_order_id"]),
        variant=str(obj["variant"]),
        symbol=str(obj["symbol"]),
        side=Side(obj["side"]),
        quantity=quantity,
        reason=SignalReason(obj["reason"]),
        mode=str(obj["mode"]),
        signal_time_ms=int(obj["signal_time"]),
        time_ms=int(obj["time"]),
        closing=bool(obj.get("closing", False)),
        ref=_int(obj, "ref") or 0,
        price_hint=_dec(obj, "price_hint"),
        exchange_order_id=_int(obj, "exchange_order_id"),
        executed_qty=_dec(obj, "executed_qty") or Decimal(0),
        avg_price=_dec(obj, "avg_price"),
        quote_qty=_dec(obj, "quote_qty") or Decimal(0),
        commission=_dec(obj, "commission") or Decimal(0),
        commission_asset=obj.get("commission_asset"),
        fill_time_ms=_int(obj, "fill_time"),
        realized_pnl=_dec(obj, "realized_pnl"),
        error_code=_int(obj, "code"),
        error=obj.get("error"),
        order_type=str(obj.get("order_type", "MARKET")),
        stop_price=_dec(obj, "stop_price"),
    )


def _need(obj: dict[str, Any], key: str) -> Decimal:
    value = _dec(obj, key)
    if value is None:
        raise KeyError(key)
    return value


def _decode_candle(obj: dict[str, Any]) -> Candle:
    trades = _int(obj, "trades")
    if trades is None:
        raise KeyError("trades")
    return Candle(
        symbol=str(obj["symbol"]), open_time=int(obj["open_time"]),
        open=_need(obj, "open"), high=_need(obj, "high"), low=_need(obj, "low"),
        close=_need(obj, "close"), volume=_need(obj, "volume"),
        quote_volume=_need(obj, "quote_volume"), trades=trades,
        taker_buy_base=_need(obj, "taker_buy_base"),
        taker_buy_quote=_need(obj, "taker_buy_quote"),
        complete=bool(obj.get("complete", True)),
        source=CandleSource(obj.get("source", CandleSource.STREAM.value)),
    )  # fmt: skip


def _decode_control(obj: dict[str, Any]) -> VariantControl:
    action = str(obj["action"])
    if action not in CONTROL_ACTIONS:
        raise ValueError(f"action {action!r} is not one of {', '.join(CONTROL_ACTIONS)}")
    params = obj.get("parameters") or {}
    if not isinstance(params, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in params.values()
    ):
        raise ValueError("parameters is not an object of numbers")
    return VariantControl(
        time_ms=int(obj["time"]),
        variant=str(obj["variant"]),
        action=action,
        reason=str(obj.get("reason") or ""),
        stop_loss=_dec(obj, "stop_loss"),
        parameters=tuple((str(k), v) for k, v in params.items()),
    )


def _decode_signal(obj: dict[str, Any]) -> SignalRaised:
    strength = obj.get("strength")
    price = _dec(obj, "price")
    if price is None:
        raise KeyError("price")
    return SignalRaised(
        variant=str(obj["variant"]),
        symbol=str(obj["symbol"]),
        side=Side(obj["side"]),
        reason=SignalReason(obj["reason"]),
        price=price,
        time_ms=int(obj["time"]),
        ref=int(obj["ref"]),
        strength=None if strength is None else Strength(strength),
        ema=obj.get("ema"),
        sma=obj.get("sma"),
        action=str(obj.get("action", "")),
        indicators=_indicators_in(obj.get("indicators")),
    )


def _indicators_out(values: dict[str, float] | None) -> dict[str, float | None] | None:
    """A signal's indicator values; one not finite (not ready) as null, as JSON allows."""
    if values is None:
        return None
    return {name: v if math.isfinite(v) else None for name, v in values.items()}


def _indicators_in(value: Any) -> dict[str, float] | None:
    """Back from the journal: null stays a value not ready (NaN); a line written before the
    field existed has none (None)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool))
        for v in value.values()
    ):
        raise ValueError("indicators is not an object of numbers")
    return {str(k): math.nan if v is None else float(v) for k, v in value.items()}
