"""Error bodies that never echo large input: pydantic's 422 details with `input`, `ctx` and
`loc` cut short (a 10 MB field comes back as its first characters and its length)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

MAX_TEXT = 64  # characters of a string shown in an error
MAX_ITEMS = 8  # items of a list or keys of an object shown
MAX_ERRORS = 20  # errors listed per response
MAX_DEPTH = 3
MAX_MESSAGE = 300  # characters of pydantic's message (its own text, not the input)


def short(value: Any, depth: int = 0) -> Any:
    """`value`, JSON-able and bounded: long strings cut, long containers shortened."""
    if isinstance(value, str):
        if len(value) <= MAX_TEXT:
            return value
        return f"{value[:MAX_TEXT]}… ({len(value)} characters)"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and Infinity are not JSON
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(short(k, MAX_DEPTH)): short(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…"] = f"{len(items) - MAX_ITEMS} more keys"
        return out
    if isinstance(value, list | tuple):
        shown = [short(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"… {len(value) - MAX_ITEMS} more items")
        return shown
    return short(str(value), depth)


def error_details(errors: Any) -> list[dict[str, Any]]:
    """pydantic's errors (`type`, `loc`, `msg`, `input`, `ctx`), each field bounded."""
    out: list[dict[str, Any]] = []
    for error in list(errors)[:MAX_ERRORS]:
        item: dict[str, Any] = {
            "type": short(str(error.get("type", ""))),
            "loc": [short(p) if isinstance(p, str) else p for p in error.get("loc", ())][:10],
            "msg": str(error.get("msg", ""))[:MAX_MESSAGE],
        }
        if "input" in error:
            item["input"] = short(error["input"])
        if "ctx" in error:
            item["ctx"] = short(error["ctx"])
        out.append(item)
    return out


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with the bounded details (replaces FastAPI's handler, which echoes all input)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": error_details(errors)}, status_code=422)


async def ledger_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 naming the ledger: nothing was changed, and the request may be sent again once
    `/health` says the ledger is writable (execution.ledger.LedgerUnavailableError)."""
    return JSONResponse(
        {"detail": f"{exc}; nothing was changed: try again once /health is ok"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer to an HTTPException, except 405: its `Allow` names every method of
    every route on the path (Starlette names only the first route's)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    allowed = {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
            if isinstance(route, BaseRoute)
        )
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return JSONResponse(
        {"detail": "Method Not Allowed"}, status_code=405,
        headers={"Allow": ", ".join(sorted(allowed))},
    )  # fmt: skip
