"""The WebSocket API at /ws-api/v3: requests as JSON frames, user-data events on the same socket.

Methods reuse the REST handlers (same parameters, same answers, same errors), wrapped in
`{"id", "status", "result" | "error", "rateLimits"}`. Signed methods take `apiKey`, `timestamp`
and `signature` (HMAC-SHA256 of the parameters sorted by name, `k=v` joined with `&`), or only
`timestamp` after `session.logon`. User data: `userDataStream.subscribe` (after logon) or
`userDataStream.subscribe.signature`; events arrive as `{"subscriptionId": n, "event": {...}}`.
Deviation: Binance accepts only Ed25519 keys for session.logon; the simulator's keys are HMAC.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from simulator import errors
from simulator.auth import check_time, verify
from simulator.endpoint import Endpoint
from simulator.order_count import OrderCounter
from simulator.params import Params
from simulator.ratelimit import WeightMeter
from simulator.state import MarketState
from simulator.time_unit import is_micros, to_micros
from simulator.user_data import Event, UserDataHub

log = logging.getLogger(__name__)
QUEUE_MAX = 10_000
SESSION_WEIGHT = 2
# WebSocket API method -> the REST route whose handler answers it.
ROUTES: dict[str, tuple[str, str]] = {
    "ping": ("GET", "ping"),
    "time": ("GET", "time"),
    "exchangeInfo": ("GET", "exchangeInfo"),
    "depth": ("GET", "depth"),
    "trades.recent": ("GET", "trades"),
    "trades.historical": ("GET", "historicalTrades"),
    "trades.aggregate": ("GET", "aggTrades"),
    "klines": ("GET", "klines"),
    "uiKlines": ("GET", "uiKlines"),
    "avgPrice": ("GET", "avgPrice"),
    "ticker.24hr": ("GET", "ticker/24hr"),
    "ticker.price": ("GET", "ticker/price"),
    "ticker.book": ("GET", "ticker/bookTicker"),
    "ticker": ("GET", "ticker"),
    "order.place": ("POST", "order"),
    "order.test": ("POST", "order/test"),
    "order.status": ("GET", "order"),
    "order.cancel": ("DELETE", "order"),
    "order.cancelReplace": ("POST", "order/cancelReplace"),
    "openOrders.status": ("GET", "openOrders"),
    "openOrders.cancelAll": ("DELETE", "openOrders"),
    "orderList.place.oco": ("POST", "orderList/oco"),
    "orderList.status": ("GET", "orderList"),
    "orderList.cancel": ("DELETE", "orderList"),
    "openOrderLists.status": ("GET", "openOrderList"),
    "allOrderLists": ("GET", "allOrderList"),
    "allOrders": ("GET", "allOrders"),
    "myTrades": ("GET", "myTrades"),
    "account.status": ("GET", "account"),
    "account.rateLimits.orders": ("GET", "rateLimit/order"),
    "account.commission": ("GET", "account/commission"),
}
SESSION_METHODS = (
    "session.logon",
    "session.status",
    "session.logout",
    "session.subscriptions",
    "userDataStream.subscribe",
    "userDataStream.subscribe.signature",
    "userDataStream.unsubscribe",
)


@dataclass(eq=False)
class Session:
    """One WebSocket API connection."""

    ws: web.WebSocketResponse
    client: str
    connected_since: int
    return_rate_limits: bool
    micros: bool
    api_key: str | None = None
    authorized_since: int | None = None
    subscriptions: dict[int, tuple[str, int]] = field(default_factory=dict)  # id: (key, token)
    logon_subscriptions: set[int] = field(default_factory=set)  # ended by session.logout
    next_subscription: int = 0
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))

    def offer(self, text: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a client that far behind loses events
            self.queue.put_nowait(text)


def ws_payloads(params: dict[str, object]) -> list[str]:
    """The signed texts a client may have used: sorted `k=v&...`, raw or URL-encoded."""
    items = sorted((k, _text(v)) for k, v in params.items() if k != "signature")
    return ["&".join(f"{k}={v}" for k, v in items), urlencode(items)]


def _text(value: object) -> str:
    """A JSON parameter as the REST query string would carry it (arrays as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class WsApi:
    def __init__(
        self,
        state: MarketState,
        endpoints: list[Endpoint],
        meter: WeightMeter,
        counter: OrderCounter,
        hub: UserDataHub,
        server_time: Callable[[], int],
    ) -> None:
        self._state = state
        self._config = state.config
        self._routes = {(e.method, e.path.removeprefix("/api/v3/")): e for e in endpoints}
        self._meter = meter
        self._counter = counter
        self._hub = hub
        self._server_time = server_time
        self._sessions: set[Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            micros = is_micros(request.query.get("timeUnit"))
        except errors.ApiError as err:
            return web.json_response(err.body(), status=err.status)
        ws = web.WebSocketResponse(heartbeat=self._config.ping_interval_s)
        await ws.prepare(request)
        session = Session(
            ws,
            request.remote or "?",
            self._state.clock.now_ms(),
            request.query.get("returnRateLimits") != "false",
            micros,
        )
        self._sessions.add(session)
        writer = asyncio.ensure_future(self._write(session))
        self._tasks.add(writer)
        writer.add_done_callback(self._tasks.discard)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    frame = await self.answer(session, msg.data)
                    session.offer(json.dumps(frame, separators=(",", ":")))
        finally:
            for _, token in session.subscriptions.values():
                self._hub.unsubscribe(token)
            self._sessions.discard(session)
            writer.cancel()
        return ws

    async def _write(self, session: Session) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not session.ws.closed:
                await session.ws.send_str(await session.queue.get())

    async def close_all(self) -> None:
        """Sends `serverShutdown` to every connection, then closes it."""
        shutdown = json.dumps({"event": {"e": "serverShutdown", "E": self._state.clock.now_ms()}})
        for session in list(self._sessions):
            with contextlib.suppress(Exception):
                await session.ws.send_str(shutdown)
                await session.ws.close(code=1001, message=b"server shutdown")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- one request -----------------------------------------------------------------------

    async def answer(self, session: Session, text: str) -> dict[str, object]:
        try:
            request = json.loads(text)
        except ValueError:
            return _error_frame(None, errors.ApiError(400, -1135, "Invalid JSON Request"))
        if not isinstance(request, dict):
            return _error_frame(None, errors.ApiError(400, -1135, "Invalid JSON Request"))
        request_id = request.get("id")
        method = str(request.get("method", "")).removeprefix("v3/")
        params = request.get("params") or {}
        limits: list[dict[str, object]] = []
        try:
            if not isinstance(params, dict):
                raise errors.ApiError(400, -1135, "Invalid JSON Request")
            route = ROUTES.get(method)
            endpoint = self._routes.get(route) if route is not None else None
            if endpoint is None and method not in SESSION_METHODS:
                raise errors.ApiError(400, -1020, "This operation is not supported.")
            query = Params(urlencode({k: _text(v) for k, v in params.items()}), "")
            weight = endpoint.cost(query.mapping()) if endpoint else SESSION_WEIGHT
            used = self._meter.charge(session.client, weight)
            limits = self._rate_limits(used, endpoint, session.api_key)
            self._meter.check(session.client, used)
            if endpoint is None:
                result: object = self._session_method(session, method, params, query)
            else:
                result, caller = await self._call(session, endpoint, params, query)
                limits = self._rate_limits(used, endpoint, caller)
        except errors.ApiError as err:
            return _error_frame(request_id, err, limits if session.return_rate_limits else None)
        if not isinstance(result, dict | list):
            raise TypeError("handlers answer JSON objects or arrays")
        frame: dict[str, object] = {
            "id": request_id,
            "status": 200,
            "result": to_micros(result) if session.micros else result,
        }
        if params.get("returnRateLimits", session.return_rate_limits) is not False:
            frame["rateLimits"] = limits
        return frame

    async def _call(
        self, session: Session, endpoint: Endpoint, params: dict[str, object], query: Params
    ) -> tuple[object, str | None]:
        """The handler's answer and the caller's API key (None: an unsigned method)."""
        api_key = self._authorize(session.api_key, params, query) if endpoint.signed else None
        if endpoint.order and endpoint.method == "POST" and api_key is not None:
            self._counter.check(api_key)
        return await endpoint.handler(query, api_key), api_key

    def _authorize(self, session_key: str | None, params: dict[str, object], query: Params) -> str:
        """The request's API key: its own signature's, else the logged-on session's."""
        now = self._server_time()
        scale = self._config.speed if self._config.recv_window_in_real_ms else 1.0
        check = self._config.check_timestamps
        if "signature" not in params and session_key is not None:
            check_time(query, now, scale, check)
            return session_key
        key = params.get("apiKey")
        if key is None:
            raise errors.missing("apiKey")
        credentials = self._config.credentials()
        return verify(query, str(key), credentials, now, scale, check, ws_payloads(params))

    def _rate_limits(
        self, used: int, endpoint: Endpoint | None, api_key: str | None
    ) -> list[dict[str, object]]:
        """REQUEST_WEIGHT, after the two ORDERS counts for an order method of a known key."""
        limits: list[dict[str, object]] = []
        if endpoint is not None and endpoint.order and api_key is not None:
            limits += self._counter.rate_limits(api_key)
        limits.append(
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self._meter.limit,
                "count": used,
            }
        )
        return limits

    # -- session and user-data methods -----------------------------------------------------

    def _session_method(
        self, session: Session, method: str, params: dict[str, object], query: Params
    ) -> object:
        if method == "session.logon":
            session.api_key = self._authorize(None, params, query)
            session.authorized_since = self._state.clock.now_ms()
            return self._status(session)
        if method == "session.status":
            return self._status(session)
        if method == "session.logout":
            key = session.api_key
            for sub_id, (sub_key, token) in list(session.subscriptions.items()):
                if sub_key == key and sub_id in session.logon_subscriptions:
                    self._hub.unsubscribe(token)
                    del session.subscriptions[sub_id]
            session.api_key = session.authorized_since = None
            return self._status(session)
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in session.subscriptions]
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            for sub_id, (_, token) in list(session.subscriptions.items()):
                if wanted is None or wanted == sub_id:
                    self._hub.unsubscribe(token)
                    del session.subscriptions[sub_id]
            return {}
        if method == "userDataStream.subscribe":
            if session.api_key is None:
                raise errors.ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            return self._subscribe(session, session.api_key, logon=True)
        key = self._authorize(None, params, query)
        return self._subscribe(session, key, logon=False)

    def _subscribe(self, session: Session, api_key: str, logon: bool) -> dict[str, object]:
        if any(key == api_key for key, _ in session.subscriptions.values()):
            raise errors.ApiError(400, -2035, "User Data Stream subscription already active.")
        sub_id = session.next_subscription
        session.next_subscription += 1

        def sink(event: Event) -> None:
            body = to_micros(event) if session.micros else event
            session.offer(
                json.dumps({"subscriptionId": sub_id, "event": body}, separators=(",", ":"))
            )

        session.subscriptions[sub_id] = (api_key, self._hub.subscribe(api_key, sink))
        if logon:
            session.logon_subscriptions.add(sub_id)
        return {"subscriptionId": sub_id}

    def _status(self, session: Session) -> dict[str, object]:
        return {
            "apiKey": session.api_key,
            "authorizedSince": session.authorized_since,
            "connectedSince": session.connected_since,
            "returnRateLimits": session.return_rate_limits,
            "serverTime": self._state.clock.now_ms(),
            "userDataStream": bool(session.subscriptions),
        }


def _error_frame(
    request_id: object, err: errors.ApiError, limits: list[dict[str, object]] | None = None
) -> dict[str, object]:
    frame: dict[str, object] = {"id": request_id, "status": err.status, "error": err.body()}
    if limits:
        frame["rateLimits"] = limits
    return frame
