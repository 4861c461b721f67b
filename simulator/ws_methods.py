"""The JSON methods a market-stream connection accepts (SUBSCRIBE, UNSUBSCRIBE, ...)."""

from __future__ import annotations

import json
from typing import Protocol

from simulator.market_streams import valid_stream

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


class Subscriber(Protocol):
    combined: bool

    @property
    def subscriptions(self) -> list[str]: ...

    def subscribe(self, names: list[str]) -> None: ...

    def unsubscribe(self, names: list[str]) -> None: ...


def _error(code: int, msg: str, request_id: object = None) -> dict[str, object]:
    return {"error": {"code": code, "msg": msg}, "id": request_id}


def handle_method(text: str, conn: Subscriber) -> dict[str, object]:
    """The reply to one client message, in Binance's shapes; applies it to `conn`."""
    try:
        request = json.loads(text)
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        return _error(3, f"Invalid JSON: expected value at line {line} column {col}")
    if not isinstance(request, dict):
        return _error(2, "Invalid request: expected a JSON object")
    request_id = request.get("id")
    if not (
        request_id is None
        or (isinstance(request_id, int) and not isinstance(request_id, bool) and request_id >= 0)
        or isinstance(request_id, str)
    ):
        return _error(2, "Invalid request: request ID must be an unsigned integer")
    method = request.get("method")
    if method is None:
        return _error(2, "Invalid request: missing field `method`", request_id)
    if method not in METHODS:
        expected = ", ".join(f"`{m}`" for m in METHODS)
        return _error(
            2,
            f"Invalid request: unknown variant `{method}`, expected one of {expected}",
            request_id,
        )
    params = request.get("params", [])
    if not isinstance(params, list):
        return _error(2, "Invalid request: params must be an array", request_id)
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        names = [p for p in params if isinstance(p, str)]
        bad = [p for p in params if not isinstance(p, str) or not valid_stream(p)]
        if bad:
            return _error(2, f"Invalid request: invalid stream name `{bad[0]}`", request_id)
        if method == "SUBSCRIBE":
            conn.subscribe(names)
        else:
            conn.unsubscribe(names)
        return {"result": None, "id": request_id}
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": list(conn.subscriptions), "id": request_id}
    if not params or params[0] != "combined":
        return _error(0, "Unknown property", request_id)
    if method == "GET_PROPERTY":
        return {"result": conn.combined, "id": request_id}
    if len(params) != 2 or not isinstance(params[1], bool):
        return _error(1, "Invalid value type: expected Boolean", request_id)
    conn.combined = params[1]
    return {"result": None, "id": request_id}
