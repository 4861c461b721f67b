"""Deterministic client order ids: the same decision always gets the same id (once only)."""

from __future__ import annotations

import hashlib
import re

from strategy.models import Side, SignalReason

CLIENT_ID_RE = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")  # Binance's newClientOrderId rule
_TAG = {
    SignalReason.SIGNAL: "s",
    SignalReason.STOP_LOSS: "x",
    SignalReason.MANUAL: "m",
    SignalReason.END_OF_DATA: "e",
}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]  # 0..1295 as two base-36 digits


def base36(n: int) -> str:
    if n < 0:
        return "n" + base36(-n)
    if n < 36:
        return _DIGITS[n]
    out = ""
    while n >= 1296:  # two digits per step: the order path computes one per order
        n, r = divmod(n, 1296)
        out = _PAIRS[r] + out
    return (_PAIRS[n] if n >= 36 else _DIGITS[n]) + out


def stop_order_id(entry_client_order_id: str, version: int = 1) -> str:
    """The id of the stop that protects the position an entry opened: the entry's id with
    `pS` (a protective stop SELL) for its tag, and `-<version>` from the second stop on (a
    replaced stop gets a new id: ids are never reused)."""
    variant, _, rest = entry_client_order_id.partition("-")
    symbol, _, rest = rest.partition("-")
    _, _, ref = rest.partition("-")
    readable = f"{variant}-{symbol}-pS-{ref}" + (f"-{base36(version)}" if version > 1 else "")
    if ref and len(readable) <= 36 and CLIENT_ID_RE.match(readable):
        return readable
    digest = hashlib.sha256(f"{entry_client_order_id}/{version}".encode()).hexdigest()[:24]
    return f"pS-{digest}"


def client_order_id(variant: str, symbol: str, reason: SignalReason, ref: int, side: Side) -> str:
    """`A-BTCUSDT-sB-<ref base 36>`: variant, symbol, what made it (s signal with the candle
    open time, x stop-loss with the trade id, m manual, e end of data), side, ref. A name too
    long for 36 characters is replaced by a hash of it (still deterministic)."""
    readable = f"{variant}-{symbol}-{_TAG[reason]}{side.value[0]}-{base36(ref)}"
    if len(readable) <= 36 and CLIENT_ID_RE.match(readable):
        return readable
    digest = hashlib.sha256(readable.encode()).hexdigest()[:24]
    short = f"{_TAG[reason]}{side.value[0]}-{digest}"
    prefix = "".join(ch for ch in variant if ch.isalnum())[:8]
    return f"{prefix}-{short}" if prefix else short
