"""The API token: required by every mutating route and by /ws when API_TOKEN is set.

Given as `Authorization: Bearer <token>` or, for browsers (WebSocket), `?token=<token>`.
Compared with `secrets.compare_digest`; the token itself is never logged or echoed.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Query, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from api.deps import SettingsDep

_bearer = HTTPBearer(auto_error=False, description="API_TOKEN, when the service has one")


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


async def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None, Query(description="API token for clients that cannot set a header")
    ] = None,
) -> None:
    given = credentials.credentials if credentials is not None else token
    if not token_ok(settings.api_token, given):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API token (Authorization: Bearer <API_TOKEN> or ?token=)",
            headers={"WWW-Authenticate": "Bearer"},
        )


TokenRequired = Depends(require_token)
