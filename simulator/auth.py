"""Signed requests: API key, HMAC-SHA256 signature and timestamp, checked as Binance does.

The signature is HMAC-SHA256(secret, totalParams) in hex, where totalParams is the query string
followed by the form body, as sent, without the `signature` parameter (python-binance puts the
signature last, sorted parameters before it). The decoded form of the same text is accepted
too, so values with characters a client percent-encodes after signing still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal
from urllib.parse import unquote_plus

from simulator import errors
from simulator.params import Params
from simulator.time_unit import to_millis

RECV_WINDOW = re.compile(r"^[0-9]{1,5}(\.[0-9]{1,3})?$")  # ms, up to three decimals (µs)

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000


def _without_signature(raw: str) -> str:
    return "&".join(p for p in raw.split("&") if p and not p.startswith("signature="))


def signed_payload(params: Params) -> str:
    """Binance's totalParams: the query string immediately followed by the body (no '&')."""
    return _without_signature(params.query) + _without_signature(params.body)


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify(
    params: Params,
    api_key: str | None,
    credentials: dict[str, str],
    now_ms: int,
    window_scale: float,
    check_timestamp: bool,
    payloads: list[str] | None = None,
) -> str:
    """The caller's API key if the request is signed correctly and in time; else ApiError.

    `window_scale` multiplies the recvWindow and the 1000 ms lead (the simulator's clock may
    run faster than real time: with a scale equal to the speed they are real milliseconds).
    `payloads`: the signed texts to accept (default: REST's totalParams, as sent or decoded).
    """
    if not api_key:
        raise errors.api_key_format()
    secret = credentials.get(api_key)
    if secret is None:
        raise errors.api_key_rejected()
    timestamp, recv_window = _time_params(params)
    signature = params.get("signature")
    if signature is None:
        raise errors.missing("signature")
    if payloads is None:
        payload = signed_payload(params)
        payloads = [payload, unquote_plus(payload)]
    candidates = {sign(secret, p) for p in payloads}
    if not any(hmac.compare_digest(signature.lower(), c) for c in candidates):
        raise errors.bad_signature()
    if check_timestamp:
        _check_window(timestamp, recv_window, now_ms, window_scale)
    return api_key


def check_time(params: Params, now_ms: int, window_scale: float, check_timestamp: bool) -> None:
    """The timestamp / recvWindow checks alone (a WebSocket API session already logged on)."""
    timestamp, recv_window = _time_params(params)
    if check_timestamp:
        _check_window(timestamp, recv_window, now_ms, window_scale)


def _time_params(params: Params) -> tuple[int, Decimal]:
    timestamp = params.int_("timestamp")
    if timestamp is None:
        raise errors.missing("timestamp")
    recv_window = recv_window_ms(params.get("recvWindow"))
    if recv_window <= 0 or recv_window > MAX_RECV_WINDOW:
        raise errors.ApiError(400, -1131, "recvWindow must be less than 60000")
    return to_millis(timestamp), recv_window


def _check_window(timestamp: int, recv_window: Decimal, now_ms: int, scale: float) -> None:
    if timestamp - now_ms > 1000 * scale:
        raise errors.timestamp_ahead()
    if now_ms - timestamp > recv_window * Decimal(scale):
        raise errors.timestamp_stale()


def recv_window_ms(text: str | None) -> Decimal:
    """recvWindow in milliseconds, with up to three decimals (default 5000)."""
    if text is None:
        return Decimal(DEFAULT_RECV_WINDOW)
    if not RECV_WINDOW.match(text):
        raise errors.ApiError(
            400,
            -1100,
            "Illegal characters found in parameter 'recvWindow'; legal range is "
            "'^[0-9]{1,5}(\\.[0-9]{1,3})?$'.",
        )
    return Decimal(text)
