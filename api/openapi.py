"""The OpenAPI schema as this service answers: with API_TOKEN unset no route needs a token, so
the schema declares none (a client generated from it must not send a header it never needs)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi


def install(app: FastAPI, token_required: bool) -> None:
    """Replace `app.openapi` by one that builds the schema once, as configured."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            )  # fmt: skip
            _guard_answers(schema)
            if not token_required:
                _without_auth(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
# What the request guard (api/guard.py) and the ledger answer before or beside any route.
_ANY = {"400": "a Host (or Origin) this service does not answer to"}
_MUTATING = {
    "413": "request body above API_MAX_BODY_BYTES",
    "415": "a body that is not JSON (Content-Type)",
    "422": "invalid parameters, or a body that is not UTF-8 JSON",
    "503": "the ledger cannot be written now: nothing was changed (Retry-After)",
}


def _guard_answers(schema: dict[str, Any]) -> None:
    """Document the answers every route may give from the guard and the ledger."""
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if not isinstance(operation, dict):
                continue
            answers = {
                **_ANY,
                **(_MUTATING if method in ("post", "patch", "put", "delete") else {}),
            }
            responses = operation.setdefault("responses", {})
            for code, description in answers.items():
                responses.setdefault(code, {"description": description, "content": _ERROR})


def _without_auth(schema: dict[str, Any]) -> None:
    """No security requirement, no `token` query parameter, no 401 answer: none applies."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            operation.pop("security", None)
            params = [p for p in operation.get("parameters", []) if p.get("name") != "token"]
            if params:
                operation["parameters"] = params
            else:
                operation.pop("parameters", None)
            operation.get("responses", {}).pop("401", None)
    schema.get("components", {}).pop("securitySchemes", None)
