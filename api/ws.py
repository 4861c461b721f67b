"""WebSocket /ws: the hub's events to each client, through the client's own bounded queue.

Every message is `{"type", "seq", "ts", "data"}`. An event's data is serialised once (shared by
all clients); each connection splices in its own `seq`, which rises by one per message. A client
whose queue overflows is closed with 1013 and counted; the hub and the other clients never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from api.candle_cache import CandleJsonCache
from api.convert import order_event, position_out
from api.serialize import candle_data, event_data, health_data, signal_data
from api.variant_schemas import performance_out
from api.ws_ops import ClientOp, reply_to, subscription
from core.hub import (
    ERROR,
    EVENT_KINDS,
    LOG,
    ORDER,
    PERFORMANCE,
    POSITION,
    TRADE,
    Event,
    Subscriber,
)
from execution.models import OrderRecord, Position
from service.container import Service
from service.performance import PerformanceReport

log = logging.getLogger(__name__)

SNAPSHOT = "snapshot"
SNAPSHOT_CANDLES = 200
CLOSE_TRY_AGAIN_LATER = 1013
# uvicorn's keepalive closes a client that answers no ping with 1011 (docs/api.md).
WS_PING_INTERVAL_S = 20.0  # uvicorn's ws_ping_interval and ws_ping_timeout (its defaults)
WS_PING_TIMEOUT_S = 20.0
CLOSE_WAIT_S = 10.0  # a slow client gets this long to take the close frame
MAX_MESSAGE_CHARS = 4096  # a client message longer than this is refused unparsed


PriceOf = Callable[[str], Decimal | None]


StopOf = Callable[[str, str], OrderRecord | None]
StopPriceOf = Callable[[str, str], Decimal | None]


def wire_data(
    event: Event,
    last_price: PriceOf,
    stop_of: StopOf | None = None,
    mark_of: PriceOf | None = None,
    stop_price_of: StopPriceOf | None = None,
) -> Any:
    """An event's data as the API shows it: `order`/`trade` as a /trades row plus `status`,
    `position` as a /positions row (the executor publishes its journal dicts)."""
    data = event.data
    try:
        if event.kind in (ORDER, TRADE) and isinstance(data, OrderRecord):
            return order_event(data).model_dump()
        if event.kind == POSITION and isinstance(data, Position):
            stop = None if stop_of is None else stop_of(data.variant, data.symbol)
            mark = None if mark_of is None else mark_of(data.symbol)
            level = None if stop_price_of is None else stop_price_of(data.variant, data.symbol)
            return position_out(data, last_price(data.symbol), stop, mark, level).model_dump()
        if event.kind == PERFORMANCE and isinstance(data, PerformanceReport):
            return performance_out(data).model_dump()
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        # Sent as published rather than failing every client's sender on one odd record.
        log.warning("%s event not in the API's shape (%r): sent as published", event.kind, exc)
    return event_data(event)


def encode_data(
    event: Event,
    now_ms: int,
    last_price: PriceOf,
    stop_of: StopOf | None = None,
    mark_of: PriceOf | None = None,
    stop_price_of: StopPriceOf | None = None,
) -> bytes:
    """The event's data as JSON, encoded once and kept on the event for every other client."""
    if event.encoded is None:
        if not event.ts_ms:
            event.ts_ms = now_ms
        event.encoded = orjson.dumps(wire_data(event, last_price, stop_of, mark_of, stop_price_of))
    return event.encoded


def frame(kind: str, seq: int, ts_ms: int, data: bytes) -> str:
    return f'{{"type":"{kind}","seq":{seq},"ts":{ts_ms},"data":{data.decode()}}}'


class FrameParts:
    """An event's text frame around its `seq`: `head + str(seq) + tail`, built once per event.

    The hub hands one event to every client's queue, and the clients' senders run one after the
    other in the same loop turn, so remembering the last event built serves nearly all of them
    (per client, only the seq is spliced in). Holds a reference to that event, so identity is safe.
    One per app (`app.state.frames`), shared by that app's connections.
    """

    __slots__ = ("_event", "_head", "_tail")

    def __init__(self) -> None:
        self._event: Event | None = None
        self._head = ""
        self._tail = ""

    def of(self, event: Event, encode: Callable[[Event], bytes]) -> tuple[str, str]:
        if event is not self._event:
            data = encode(event).decode()
            self._head = f'{{"type":"{event.kind}","seq":'
            self._tail = f',"ts":{event.ts_ms},"data":{data}}}'
            self._event = event
        return self._head, self._tail


def snapshot_data(service: Service, cache: CandleJsonCache, sub: Subscriber) -> dict[str, Any]:
    """What a page needs to draw at once: candles per symbol, open candles, positions, status,
    and what the connection is subscribed to (1m candles: the `candles` here are 1m).
    Closed candles come as the JSON the REST routes cached (a burst of connections re-encodes
    nothing)."""
    candles: dict[str, Any] = {}
    open_candles: dict[str, Any] = {}
    for symbol in service.symbols():
        history = service.aggregator.history(symbol, SNAPSHOT_CANDLES)
        candles[symbol] = orjson.Fragment(cache.encode_list(history))
        current = service.aggregator.open_candle(symbol)
        open_candles[symbol] = None if current is None else candle_data(current, closed=False)
    return {
        "symbols": service.symbols(),
        "subscription": subscription(sub),
        "candles": candles,
        "open_candles": open_candles,
        "positions": [
            position_out(
                p,
                service.tick_store.last_price(p.symbol),
                service.stop_of(p.variant, p.symbol),
                service.mark_price(p.symbol),
                service.stop_price(p.variant, p.symbol),
            ).model_dump()
            for p in service.positions.all()
        ],
        "signals": [signal_data(s) for s in service.signals.query(limit=50)],
        "health": health_data(service.health()),
        "performance": performance_out(service.performance.report()).model_dump(),
        # The newest WARNING and ERROR lines, for a client that gave the token (null: none is
        # configured, so none is sent: set API_TOKEN to see them here).
        "logs": list(service.log_feed.lines) if LOG in sub.kinds else None,
    }


class Disconnected(Exception):
    """The client went away."""


class WsClient:
    """One client: its subscriber queue, its seq counter, and the task sending its frames."""

    def __init__(
        self, receive: Receive, send: Send, service: Service, sub: Subscriber, frames: FrameParts
    ) -> None:
        self._receive = receive
        self._send = send
        self.service = service
        self.sub = sub
        self.frames = frames
        self.seq = 0

    async def send(self, kind: str, ts_ms: int, data: bytes) -> None:
        self.seq += 1
        await self._send({"type": "websocket.send", "text": frame(kind, self.seq, ts_ms, data)})

    def encode(self, event: Event) -> bytes:
        service = self.service
        return encode_data(
            event,
            service.clock.now_ms(),
            service.tick_store.last_price,
            service.stop_of,
            service.mark_price,
            service.stop_price,
        )

    def reply(self, kind: str, data: Any) -> None:
        """A message for this client only, in order with its events (through its queue)."""
        event = Event(kind, data, ts_ms=self.service.clock.now_ms())
        try:
            self.sub.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.service.hub.unsubscribe(self.sub)
            self.sub.overflowed.set()

    async def sender(self) -> None:
        """Send what the hub queued: one wake-up drains everything queued meanwhile, and each
        frame costs a seq splice plus the server's ASGI send (one text frame, one write)."""
        queue = self.sub.queue
        encode = self.encode
        send = self._send
        parts = self.frames.of
        while True:
            event = await queue.get()
            while True:
                head, tail = parts(event, encode)
                self.seq += 1
                await send({"type": "websocket.send", "text": f"{head}{self.seq}{tail}"})
                if queue.empty():
                    break
                event = queue.get_nowait()

    async def receiver(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                raise Disconnected
            if message["type"] != "websocket.receive":
                continue
            text = message.get("text") or (message.get("bytes") or b"").decode(errors="replace")
            if len(text) > MAX_MESSAGE_CHARS:
                detail = f"message of {len(text)} characters; at most {MAX_MESSAGE_CHARS}"
                self.reply(ERROR, {"error": "bad message", "detail": detail})
                continue
            service = self.service
            self.reply(*reply_to(text, self.sub, service.symbols(), service.timeframes.keep))


class WebSocketEndpoint:
    """`/ws` as a plain ASGI handler in front of the app's router (added as a middleware), so a
    frame's path is the server's own ASGI send: no Starlette WebSocket wrapper and no exception
    middleware wrapper on each of the thousands of sends a second. Other scopes pass through.
    Host, Origin and the API token were checked in front of it (api.guard.RequestGuard)."""

    def __init__(self, app: ASGIApp, path: str = "/ws") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        await serve(state.service, state.candle_cache, state.frames, receive, send)


async def serve(
    service: Service, cache: CandleJsonCache, frames: FrameParts, receive: Receive, send: Send
) -> None:
    """Events of the service. See README "REST and WebSocket API" for the protocol."""
    if (await receive())["type"] != "websocket.connect":
        return
    settings = service.settings
    await send({"type": "websocket.accept"})
    sub = service.hub.subscribe(maxsize=settings.ws_client_queue)
    if settings.api_token is not None:  # the guard checked it: the service's log lines too
        sub.kinds |= {LOG}
    conn = WsClient(receive, send, service, sub, frames)
    service.metrics.ws_clients.inc()
    tasks: list[asyncio.Task[Any]] = []
    try:
        now = service.clock.now_ms()
        await conn.send(SNAPSHOT, now, orjson.dumps(snapshot_data(service, cache, sub)))
        tasks = [
            asyncio.create_task(conn.sender(), name="ws:sender"),
            asyncio.create_task(conn.receiver(), name="ws:receiver"),
        ]
        overflow = asyncio.create_task(sub.overflowed.wait(), name="ws:overflow")
        tasks.append(overflow)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        if overflow in done:
            service.metrics.ws_dropped.inc()
            log.warning(
                "WebSocket client fell behind (queue %d full): closing with 1013",
                settings.ws_client_queue,
            )
            close = {"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER}
            with contextlib.suppress(Exception):
                await asyncio.wait_for(send({**close, "reason": "client too slow"}), CLOSE_WAIT_S)
        else:
            for task in done:
                exc = task.exception() if not task.cancelled() else None
                # OSError: uvicorn's ClientDisconnected, a send after the client left.
                if exc is not None and not isinstance(exc, Disconnected | OSError):
                    log.warning("WebSocket connection ended: %r", exc)
    except (Disconnected, OSError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        service.hub.unsubscribe(sub)
        service.metrics.ws_clients.dec()


__all__ = ["EVENT_KINDS", "ClientOp", "WebSocketEndpoint"]
