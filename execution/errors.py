"""Exchange errors as typed errors with a retry verdict (subclasses of core.errors).

How the executor reacts to each:
- `OrderRejectedError` (-2010 insufficient balance, -1013 filter failure, other 4xx): the order
  is recorded as rejected with the code; never retried.
- `InvalidSymbolError` (-1121): rejected; the symbol is wrong (a setting), needs a human.
- `CredentialsError` (-2014, -2015, -1022, HTTP 401): the API key or secret is refused; trading
  halts (the start-up account check says so in /health), needs a human.
- `TimestampError` (-1021): the server-time offset is resynced and the request retried once.
- `RateLimitedError` (-1003, HTTP 429 / 418): trading pauses for `retry_after_s`, then retries.
- `UnknownOutcomeError` (timeout, connection reset, 5xx): the order may or may not exist; it is
  looked up by client order id before anything is resent.
- `OrderNotFoundError` (-2013): the lookup confirmed the order does not exist; only this
  allows the same client order id to be sent again.
- `CancelRejectedError` (-2011 on a cancel): the order is not open (filled, canceled or
  absent): it is looked up to learn which.
- `OrderNotExecutedError`: the lookup found the order, and the exchange says nothing of it
  was executed (EXPIRED, CANCELED, REJECTED): recorded as rejected.
- Anything else on the lookup path (-1021, 5xx, 429, timeouts, other 4xx) proves nothing: the
  order stays unknown and is looked up again, with capped backoff.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.errors import FatalError, RetryableError, ServiceError

INSUFFICIENT_BALANCE = -2010
DUPLICATE_ORDER = -2010  # "Duplicate order sent." shares -2010 (NEW_ORDER_REJECTED)
FILTER_FAILURE = -1013
INVALID_SYMBOL = -1121
TIMESTAMP_OUT_OF_WINDOW = -1021
TOO_MANY_REQUESTS = -1003
BAD_CREDENTIALS = frozenset({-2014, -2015, -1022})  # key format, key/IP/permissions, signature
ORDER_DOES_NOT_EXIST = -2013
CANCEL_REJECTED = -2011
DEFAULT_RETRY_AFTER_S = 1.0


class ExchangeError(ServiceError):
    """An answer (or no answer) from the exchange. `code` is Binance's error code, if any."""

    def __init__(self, message: str, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class OrderRejectedError(ExchangeError):
    """The exchange refused the order (4xx): recorded as rejected, not retried."""


class InsufficientBalanceError(OrderRejectedError):
    """-2010: not enough of the asset to pay."""


class DuplicateOrderError(OrderRejectedError):
    """-2010 "Duplicate order sent.": an order with this client id exists: look it up."""


class FilterFailureError(OrderRejectedError):
    """-1013: LOT_SIZE, NOTIONAL, PRICE_FILTER … refused it."""


class InvalidSymbolError(OrderRejectedError, FatalError):
    """-1121: the symbol does not exist on this exchange (a wrong setting)."""


class CancelRejectedError(OrderRejectedError):
    """-2011: a cancel found no open order with that id: look it up (filled? canceled?)."""


class OrderNotExecutedError(OrderRejectedError):
    """The exchange knows the order and says nothing of it was executed."""


class CredentialsError(OrderRejectedError, FatalError):
    """The exchange refuses the API key or the signature: nothing signed can work."""


class TimestampError(ExchangeError, RetryableError):
    """-1021: our clock is off; resync the server-time offset and retry."""


class RateLimitedError(ExchangeError, RetryableError):
    """-1003 / HTTP 429 / 418: pause all trading for `retry_after_s` seconds."""

    def __init__(self, message: str, code: int | None, status: int | None, retry_after_s: float):
        super().__init__(message, code, status)
        self.retry_after_s = retry_after_s


class UnknownOutcomeError(ExchangeError, RetryableError):
    """Timeout, connection reset or 5xx: the order may exist; look it up before resending."""


class OrderNotFoundError(ExchangeError):
    """-2013: confirmed absent (the only answer that allows resending the same id)."""


def _retry_after(headers: Any) -> float:
    try:
        value = float(headers.get("Retry-After", DEFAULT_RETRY_AFTER_S))
    except (TypeError, ValueError, AttributeError):
        return DEFAULT_RETRY_AFTER_S
    return max(value, 0.0)


def classify(exc: BaseException) -> ExchangeError:
    """Map python-binance / aiohttp exceptions to the typed errors above (no secrets inside).

    Both are imported here, not with the module: a backtest or an optimiser worker, which
    never talks to an exchange, starts without them (about 0.7 s)."""
    if isinstance(exc, ExchangeError):
        return exc
    import aiohttp
    from binance.exceptions import BinanceAPIException, BinanceRequestException

    if isinstance(exc, BinanceAPIException):
        code, status = exc.code, exc.status_code
        text = f"HTTP {status} code {code}: {exc.message}"
        if status in (429, 418) or code == TOO_MANY_REQUESTS:
            headers = getattr(exc.response, "headers", {})
            return RateLimitedError(text, code, status, _retry_after(headers))
        if status >= 500:
            return UnknownOutcomeError(text, code, status)
        if code == INSUFFICIENT_BALANCE and "duplicate" in str(exc.message).lower():
            return DuplicateOrderError(text, code, status)
        if code == INSUFFICIENT_BALANCE:
            return InsufficientBalanceError(text, code, status)
        if code == FILTER_FAILURE:
            return FilterFailureError(text, code, status)
        if code in BAD_CREDENTIALS or status == 401:
            return CredentialsError(text, code, status)
        if code == INVALID_SYMBOL:
            return InvalidSymbolError(text, code, status)
        if code == TIMESTAMP_OUT_OF_WINDOW:
            return TimestampError(text, code, status)
        if code == CANCEL_REJECTED:
            return CancelRejectedError(text, code, status)
        if code == ORDER_DOES_NOT_EXIST:
            return OrderNotFoundError(text, code, status)
        return OrderRejectedError(text, code, status)
    if isinstance(exc, BinanceRequestException):  # a 2xx with an unreadable body
        return UnknownOutcomeError(f"unreadable response: {exc.message[:200]}")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return UnknownOutcomeError("request timed out")
    if isinstance(exc, (aiohttp.ClientError, ConnectionError)):
        return UnknownOutcomeError(f"connection failed: {type(exc).__name__}")
    return UnknownOutcomeError(f"unexpected {type(exc).__name__}")
