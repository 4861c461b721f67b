"""Binance's error bodies: `{"code": <negative int>, "msg": "..."}` with their HTTP statuses."""

from __future__ import annotations


class ApiError(Exception):
    """A request rejected the way Binance rejects it."""

    def __init__(
        self,
        status: int,
        code: int,
        msg: str,
        headers: dict[str, str] | None = None,
        data: dict[str, object] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}
        self.data = data  # cancelReplace's partial results

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body


def missing(name: str) -> ApiError:
    return ApiError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str) -> ApiError:
    legal = _RANGES.get(name, "^[0-9]{1,20}$")
    return ApiError(
        400,
        -1100,
        f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.",
    )


DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_RANGES = {
    "newClientOrderId": "^[a-zA-Z0-9-_]{1,36}$",
    "origClientOrderId": "^[a-zA-Z0-9-_.]{1,36}$",
    **{name: DECIMAL_RANGE for name in ("quantity", "quoteOrderQty", "price", "stopPrice")},
}


def too_precise() -> ApiError:
    return ApiError(400, -1111, "Precision is over the maximum defined for this asset.")


def invalid(name: str) -> ApiError:
    return ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def not_required(name: str) -> ApiError:
    return ApiError(400, -1106, f"Parameter '{name}' sent when not required.")


def invalid_symbol() -> ApiError:
    return ApiError(400, -1121, "Invalid symbol.")


def invalid_interval() -> ApiError:
    return ApiError(400, -1120, "Invalid interval.")


def filter_failure(name: str) -> ApiError:
    return ApiError(400, -1013, f"Filter failure: {name}")


def insufficient_balance() -> ApiError:
    return ApiError(400, -2010, "Account has insufficient balance for requested action.")


def duplicate_order() -> ApiError:
    return ApiError(400, -2010, "Duplicate order sent.")


def no_such_order() -> ApiError:
    return ApiError(400, -2013, "Order does not exist.")


def unknown_order() -> ApiError:
    return ApiError(400, -2011, "Unknown order sent.")


def bad_signature() -> ApiError:
    return ApiError(400, -1022, "Signature for this request is not valid.")


def timestamp_ahead() -> ApiError:
    return ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def timestamp_stale() -> ApiError:
    return ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


def api_key_format() -> ApiError:
    return ApiError(401, -2014, "API-key format invalid.")


def api_key_rejected() -> ApiError:
    return ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")


def too_much_weight(limit: int, retry_after_s: int) -> ApiError:
    return ApiError(
        429,
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        {"Retry-After": str(retry_after_s)},
    )


def internal_error() -> ApiError:
    return ApiError(500, -1001, "Internal error; unable to process your request. Please try again.")


def unsupported() -> ApiError:
    return ApiError(404, -1020, "This operation is not supported.")


def not_found() -> ApiError:
    return ApiError(404, -1000, "An unknown error occurred while processing the request.")
