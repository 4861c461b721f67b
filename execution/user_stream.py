"""Order events as the exchange pushes them: the WebSocket API's user-data subscription.

The Spot Testnet removed the REST listenKey endpoints (2026-02); the WebSocket API's
`userDataStream.subscribe.signature` is how a client hears that an order changed on the
exchange (a stop that triggered while nobody asked). This is a thin client on `websockets`
rather than python-binance's `user_socket()`: in python-binance 1.0.37 that socket subscribes
through the client's shared `ws_api` connection, which does not subscribe again after a
reconnect, and its `recv()` waits forever on a stream that died, so a drop would go unnoticed.

`run()` connects, subscribes, hands every `executionReport` to `on_report`, and on any drop
says so (`on_connected(False)`) and reconnects with capped, jittered backoff. While it is down
the service polls the exchange about its stops instead; after a reconnect it asks about all
of them once, so nothing is missed across a drop (reconciled by client order id).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import connect

log = logging.getLogger(__name__)
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
ANSWER_TIMEOUT_S = 10.0


class UserStreamError(Exception):
    """The exchange refused the subscription (its error frame, without secrets)."""


def signed_params(api_key: str, secret: str, timestamp_ms: int) -> dict[str, Any]:
    """The WebSocket API's signature: HMAC-SHA256 of the parameters sorted by name, k=v&…"""
    params: dict[str, Any] = {"apiKey": api_key, "timestamp": timestamp_ms}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return params


class UserStream:
    """One subscription, kept alive for as long as `run()` runs (an owned task)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        timestamp_ms: Callable[[], int],
        on_report: Callable[[dict[str, Any]], None],
        on_connected: Callable[[bool], None],
    ) -> None:
        self.url = url
        self._key = api_key
        self._secret = api_secret
        self._timestamp_ms = timestamp_ms
        self._on_report = on_report
        self._on_connected = on_connected
        self._ids = itertools.count(1)
        self.connected = False
        self.reconnects = 0
        self.last_error: str | None = None

    async def run(self) -> None:
        delay = BACKOFF_FIRST_S
        while True:
            try:
                async with connect(self.url, max_size=2**22, open_timeout=10) as ws:
                    await self._subscribe(ws)
                    self._set_connected(True)
                    delay = BACKOFF_FIRST_S
                    async for raw in ws:
                        self._handle(raw)
                self.last_error = "closed by the exchange"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a drop, a refusal, a time-out: try again
                self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            self._set_connected(False)
            self.reconnects += 1
            log.warning("user-data stream down (%s); reconnecting in %.1fs", self.last_error, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 1.6, BACKOFF_MAX_S)

    async def _subscribe(self, ws: Any) -> None:
        request_id = f"uds-{next(self._ids)}"
        params = signed_params(self._key, self._secret, self._timestamp_ms())
        frame = {"id": request_id, "method": "userDataStream.subscribe.signature"}
        await ws.send(orjson.dumps({**frame, "params": params}).decode())
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            answer = orjson.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S))
            if answer.get("id") != request_id:
                self._handle_obj(answer)
                continue
            if answer.get("status") != 200:
                error = answer.get("error") or {}
                raise UserStreamError(
                    f"subscription refused: {error.get('code')} {error.get('msg')}"
                )
            return
        raise UserStreamError("no answer to the subscription")

    def _handle(self, raw: str | bytes) -> None:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning("user-data stream: an unreadable frame was skipped")
            return
        if isinstance(obj, dict):
            self._handle_obj(obj)

    def _handle_obj(self, obj: dict[str, Any]) -> None:
        event = obj.get("event")
        if isinstance(event, dict) and event.get("e") == "executionReport":
            try:
                self._on_report(event)
            except Exception:
                log.exception("user-data event not handled")
        elif isinstance(event, dict) and event.get("e") == "eventStreamTerminated":
            log.warning("user-data stream terminated by the exchange")

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            log.info("user-data stream %s", "subscribed" if value else "down")
            self._on_connected(value)
