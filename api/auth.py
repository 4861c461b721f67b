"""The API token: required by every mutating route and by /ws when API_TOKEN is set.

Given as `Authorization: Bearer <token>` or, for browsers (WebSocket), `?token=<token>`; the
header wins when both are given, for REST and /ws alike (one parser: `given_token`).
Compared with `secrets.compare_digest`; the token itself is never logged or echoed.
The request guard (api/guard.py) checks it before a body is read; the route dependency below
states it in the OpenAPI schema and checks it again.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from api.deps import SettingsDep

_bearer = HTTPBearer(auto_error=False, description="API_TOKEN, when the service has one")
UNAUTHORIZED_DETAIL = "missing or wrong API token (Authorization: Bearer <API_TOKEN> or ?token=)"


def token_ok(expected: SecretStr | None, given: str | None) -> bool:
    """True when no token is configured, or `given` equals it (constant-time comparison)."""
    if expected is None:
        return True
    if not given:
        return False
    return secrets.compare_digest(given.encode(), expected.get_secret_value().encode())


def bearer_of(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer …` header value, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def given_token(authorization: str | None, query_string: bytes | str) -> str | None:
    """The token a request presents: `Authorization: Bearer` first, else `?token=`."""
    header = bearer_of(authorization)
    if header is not None:
        return header
    raw = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if "token=" not in raw:
        return None
    tokens = parse_qs(raw).get("token")
    return tokens[0] if tokens and tokens[0] else None


def scope_token(headers: list[tuple[bytes, bytes]], query_string: bytes) -> str | None:
    """`given_token` from raw ASGI headers (the guard and /ws, before any Request exists)."""
    authorization = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value.decode("latin-1")
            break
    return given_token(authorization, query_string)


async def require_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None, Query(description="API token for clients that cannot set a header")
    ] = None,
) -> None:
    """`credentials` and `token` are declared for the OpenAPI schema; the request is parsed
    by `given_token` like everywhere else."""
    given = given_token(request.headers.get("authorization"), request.scope["query_string"])
    if not token_ok(settings.api_token, given):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=UNAUTHORIZED_DETAIL,
            headers={"WWW-Authenticate": "Bearer"},
        )


TokenRequired = Depends(require_token)
