"""The request guard: what every HTTP request and /ws connection passes before a route runs.

In this order, each answered with a JSON reason (a /ws connection is closed with 1008):
1. `Host` must be a name the service answers to (loopback, API_HOST, ALLOWED_HOSTS): a page on
   another site that re-points its DNS name at 127.0.0.1 (DNS rebinding) gets 400.
2. Mutating requests and /ws: an `Origin`, when sent, must be the service's own (its host
   equals `Host`) or listed in CORS_ORIGINS: another site's page gets 403.
3. Mutating requests and /ws: the API token, when API_TOKEN is set (401), before any body is read.
4. A declared `Content-Length` above API_MAX_BODY_BYTES: 413, nothing read.
5. Mutating requests: a body must be `application/json` (415), so a cross-site `text/plain`
   form or fetch, which needs no CORS preflight, is not read as JSON.
6. The body is read here, counting bytes (413 past the limit, chunked uploads included), and
   handed to the route whole.

A pure ASGI middleware, like `api.ws.WebSocketEndpoint`: no per-request Starlette objects on
the read path. See docs/security.md for the threat model.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import UNAUTHORIZED_DETAIL, scope_token, token_ok
from config import Settings, host_names

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CLOSE_POLICY_VIOLATION = 1008


class Refusal(Exception):
    """A request the guard answers itself: HTTP status, reason, extra headers."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def host_name(host_header: str) -> str:
    """`Host` without its port, brackets or trailing dot, in lower case; "" when it is not a
    host with an optional port of digits (`127.0.0.1:8000@evil.example` is not)."""
    host = host_header.strip().lower()
    port = ""
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest and not rest.startswith(":"):
            return ""
        port = rest[1:]
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if (port and not (port.isascii() and port.isdigit() and len(port) <= 5)) or (
        host_header.strip().endswith(":")
    ):
        return ""
    if not host or not all(c.isascii() and (c.isalnum() or c in ".-_:") for c in host):
        return ""
    return host.rstrip(".")


def is_json(content_type: str) -> bool:
    """`application/json` or `application/<something>+json`, with any parameters."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class Policy:
    """The checks, from the settings; pure functions of the request's headers."""

    def __init__(self, settings: Settings) -> None:
        self.hosts = host_names(settings)
        self.any_host = "*" in self.hosts
        self.origins = frozenset(settings.cors_origins)
        self.token = settings.api_token
        self.max_body = settings.api_max_body_bytes

    def host_ok(self, host: str | None) -> bool:
        return self.any_host or (host is not None and host_name(host) in self.hosts)

    def origin_ok(self, origin: str | None, host: str | None) -> bool:
        """No Origin (not a browser, or a same-origin GET), the service's own, or listed."""
        if origin is None:
            return True
        value = origin.strip().lower().rstrip("/")
        if value in self.origins:
            return True
        scheme, sep, netloc = value.partition("://")
        own = host is not None and netloc == host.strip().lower()
        return bool(sep) and scheme in ("http", "https") and own

    def check(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        """Refusal for what the headers alone decide (steps 1-5 of the module docstring)."""
        host = _text(headers.get(b"host"))
        if not self.host_ok(host):
            raise Refusal(400, "unknown Host header: add the name to ALLOWED_HOSTS to serve it")
        mutating = scope["type"] == "websocket" or scope["method"] not in SAFE_METHODS
        if not mutating:
            length = _length(headers)
            if length is not None and length > self.max_body:
                raise self.too_large()
            return
        if not self.origin_ok(_text(headers.get(b"origin")), host):
            raise Refusal(403, "cross-origin request refused: origin not in CORS_ORIGINS")
        given = scope_token(scope.get("headers", []), scope.get("query_string", b""))
        if not token_ok(self.token, given):
            raise Refusal(401, UNAUTHORIZED_DETAIL, {"WWW-Authenticate": "Bearer"})
        if scope["type"] == "websocket":
            return
        length = _length(headers)
        if length is not None and length > self.max_body:
            raise self.too_large()
        content_type = _text(headers.get(b"content-type"))
        has_body = bool(length) or b"transfer-encoding" in headers
        if (content_type is not None or has_body) and not is_json(content_type or ""):
            raise self.not_json()

    def too_large(self) -> Refusal:
        return Refusal(413, f"request body above {self.max_body} bytes (API_MAX_BODY_BYTES)")

    @staticmethod
    def not_json() -> Refusal:
        return Refusal(415, "a request body must be JSON (Content-Type: application/json)")


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _length(headers: dict[bytes, bytes]) -> int | None:
    raw = headers.get(b"content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Refusal(400, "Content-Length is not a number") from None


class ClientGone(Exception):
    """The client disconnected while sending its body."""


def _utf8(body: bytes) -> bool:
    """JSON bodies are UTF-8 (RFC 8259); json.loads would take UTF-16 and UTF-32 as well."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; `Refusal(413)` as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"request body above {limit} bytes (API_MAX_BODY_BYTES)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A `receive` that hands over `body` once, then waits on the client (disconnects)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class RequestGuard:
    """The checks above, in front of the app (added as its middleware by api.app)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = Policy(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(bytes(name), bytes(value))
        try:
            self.policy.check(scope, headers)
            if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
                body = await read_body(receive, self.policy.max_body)
                if body and b"content-type" not in headers:
                    raise self.policy.not_json()
                if body and not _utf8(body):
                    raise Refusal(422, "the body is not UTF-8: send JSON in UTF-8")
                receive = replay(body, receive)
        except Refusal as refusal:
            await refuse(refusal, scope, receive, send)
            return
        except ClientGone:
            return
        await self.app(scope, receive, send)


async def refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer with the refusal: a JSON error, or for /ws accept and close with 1008 + reason."""
    if scope["type"] == "websocket":
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        close: dict[str, Any] = {"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION}
        await send({**close, "reason": refusal.detail[:120]})
        return
    response = JSONResponse(
        {"detail": refusal.detail}, status_code=refusal.status, headers=refusal.headers
    )
    try:
        await response(scope, receive, send)
    except Exception as exc:
        # A refusal goes out before the body is read; the server may meanwhile have found the
        # body malformed and answered 400 itself (uvicorn's h11 then refuses a second answer).
        log.debug("refusal not sent, the connection was answered or closed: %r", exc)
