"""Market streams: `/ws`, `/ws/<anything>` (raw) and `/stream?streams=a/b` (combined envelope).

A broadcaster releases due trades on the market clock and fans their events out to the
connections subscribed to them; `market_streams` adds klines, depth and tickers on the same
tick. Any `/ws/<tail>` connects (ccxt.pro opens `/ws/<n>` and then sends SUBSCRIBE); the tail's
valid stream names are subscribed. A connection that was down does not get what it missed (as
on Binance): clients backfill from REST. A planned close sends `serverShutdown` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from simulator.faults import FaultInjector, corrupt_text
from simulator.market import Tape, agg_trade_rest, trade_event
from simulator.market_streams import MarketStreams, valid_stream
from simulator.state import MarketState
from simulator.ws_methods import handle_method

log = logging.getLogger(__name__)
QUEUE_MAX = 20_000  # frames waiting for a slow client before it is disconnected


@dataclass(frozen=True, slots=True)
class Frame:
    stream: str | None  # None: a reply to a client's method
    data: str  # the JSON payload (without the combined envelope)
    is_trade: bool = False


class Connection:
    """One websocket client: its subscriptions, its outgoing queue, its writer."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, combined: bool) -> None:
        self.ws = ws
        self.request = request
        self.combined = combined
        self._subs: list[str] = []
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(maxsize=QUEUE_MAX)
        self.overflowed = False

    @property
    def subscriptions(self) -> list[str]:
        return self._subs

    def subscribe(self, names: list[str]) -> None:
        for name in names:
            if name not in self._subs:
                self._subs.append(name)

    def unsubscribe(self, names: list[str]) -> None:
        self._subs = [s for s in self._subs if s not in names]

    def offer(self, frame: Frame) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True

    def render(self, frame: Frame) -> str:
        if frame.stream is None or not self.combined:
            return frame.data
        return f'{{"stream":"{frame.stream}","data":{frame.data}}}'


class StreamServer:
    """Accepts stream connections and broadcasts the market's events to them."""

    def __init__(self, state: MarketState, faults: FaultInjector) -> None:
        self._state = state
        self._faults = faults
        self._conns: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id: dict[str, int] = {}
        self._market = MarketStreams(state)

    @property
    def connections(self) -> int:
        return len(self._conns)

    # -- connections -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        combined = request.path.startswith("/stream")
        raw = request.query.get("streams", "") if combined else request.match_info.get("tail", "")
        names = [n for n in raw.split("/") if n]
        bad = [n for n in names if not valid_stream(n)]
        if combined and bad:
            return web.json_response(
                {"code": -1100, "msg": f"Invalid stream name: {bad[0]}"}, status=400
            )
        ws = web.WebSocketResponse(heartbeat=self._state.config.ping_interval_s, timeout=1.0)
        await ws.prepare(request)
        conn = Connection(ws, request, combined)
        conn.subscribe([n for n in names if n not in bad])
        self._conns.add(conn)
        self._state.stats["stream_connections"] += 1
        writer = self._spawn(self._write(conn))
        dropper = self._spawn(self._drop_later(conn)) if self._faults.config.drop_every_s else None
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    reply = handle_method(msg.data, conn)
                    conn.offer(Frame(None, json.dumps(reply, separators=(",", ":"))))
                elif msg.type == WSMsgType.BINARY:
                    conn.offer(Frame(None, '{"error":{"code":3,"msg":"Invalid JSON"},"id":null}'))
        finally:
            self._conns.discard(conn)
            for task in (writer, dropper):
                if task is not None:
                    task.cancel()
        return ws

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _write(self, conn: Connection) -> None:
        held: Frame | None = None
        ws = conn.ws
        try:
            while not ws.closed:
                frame = await conn.queue.get()
                if frame.stream is None:
                    await ws.send_str(conn.render(frame))
                    continue
                plan = self._faults.frame_plan(frame.is_trade)
                if plan.delay_s:
                    await asyncio.sleep(plan.delay_s)
                text = conn.render(frame)
                if plan.corrupt is not None:
                    self._state.stats[f"frames_{plan.corrupt}"] += 1
                    await ws.send_str(corrupt_text(text, plan.corrupt))
                    continue
                if plan.hold and held is None:
                    held = frame
                    self._state.stats["frames_reordered"] += 1
                    continue
                await ws.send_str(text)
                if plan.duplicate:
                    self._state.stats["frames_duplicated"] += 1
                    await ws.send_str(text)
                if held is not None:
                    await ws.send_str(conn.render(held))
                    held = None
        except (ConnectionError, RuntimeError):
            log.debug("stream writer stopped: connection gone")

    async def _drop_later(self, conn: Connection) -> None:
        every = self._faults.config.drop_every_s
        assert every is not None
        await asyncio.sleep(every)
        self._state.stats["stream_drops"] += 1
        if self._faults.config.drop_abort:
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        else:
            await conn.ws.close(code=1001, message=b"going away")

    async def close_all(self) -> None:
        """A planned close: `serverShutdown` to every connection, then a 1001 close frame."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        event = json.dumps({"e": "serverShutdown", "E": self._state.clock.now_ms()})
        await asyncio.gather(*(_shut(c, event) for c in list(self._conns)))

    # -- broadcasting ----------------------------------------------------------------------

    async def run(self) -> None:
        """Release due trades and broadcast them, every `tick_interval_s` real seconds."""
        state = self._state
        state.advance()
        for symbol, tape in state.tapes.items():
            self._next_id[symbol] = tape.last_id() + 1
        while True:
            await asyncio.sleep(state.config.tick_interval_s)
            now = state.advance()
            wanted = {s for c in self._conns for s in c.subscriptions}
            for symbol, tape in state.tapes.items():
                self._publish(symbol, tape, now, wanted)
            self._market.tick(now, wanted, self._send_market)
            for conn in [c for c in self._conns if c.overflowed]:
                log.warning("stream client too slow: disconnecting it")
                self._conns.discard(conn)
                self._spawn(_close(conn.ws, 1008, b"too slow"))

    def _publish(self, symbol: str, tape: Tape, now: int, wanted: set[str]) -> None:
        low = symbol.lower()
        names = (f"{low}@trade", f"{low}@aggTrade")
        new = tape.from_id(self._next_id[symbol], 1 << 30)
        if new:
            self._next_id[symbol] = new[-1].id + 1
            self._state.stats["trades_streamed"] += len(new)
        if not any(n in wanted for n in names):
            return
        for trade in new:
            if names[0] in wanted:
                self._send(names[0], trade_event(symbol, trade, now), True)
            if names[1] in wanted:
                agg = agg_trade_rest(trade)
                self._send(names[1], {"e": "aggTrade", "E": now, "s": symbol, **agg}, True)

    def _send_market(self, stream: str, event: object) -> None:
        self._send(stream, event, False)

    def _send(self, stream: str, event: object, is_trade: bool) -> None:
        frame = Frame(stream, json.dumps(event, separators=(",", ":")), is_trade)
        for conn in self._conns:
            if stream in conn.subscriptions:
                conn.offer(frame)


async def _shut(conn: Connection, event: str) -> None:
    with contextlib.suppress(Exception):
        await conn.ws.send_str(conn.render(Frame("!serverShutdown", event)))
        await conn.ws.close(code=1001, message=b"server shutdown")


async def _close(ws: web.WebSocketResponse, code: int, message: bytes) -> None:
    await ws.close(code=code, message=message)
