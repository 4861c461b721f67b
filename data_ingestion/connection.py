"""One python-binance multiplex socket of `<sym>@trade` streams, set up for a supervisor.

python-binance's `ReconnectingWebsocket` reconnects by itself (5 times, then gives up), ends
its read loop on a queue overflow or an undecodable frame, and reports such ends only as an
error dict on its queue. Here each socket gets `MAX_RECONNECTS = 0` (a drop ends it at once:
the supervisor reconnects), a tolerant decoder (a malformed frame becomes a marker that is
counted and skipped rather than ending the read loop; frames are decoded once, by orjson),
and python-binance's `_propagate_error` hook marks the connection failed with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from binance import BinanceSocketManager

log = logging.getLogger(__name__)
CLOSE_S = 0.5  # a polite close gets this long; then the socket is aborted


def tolerant_decode(frame: Any) -> Any:
    """Replaces the socket's `_handle_message`: a bad frame becomes a marker, not a crash."""
    try:
        return orjson.loads(frame)
    except (orjson.JSONDecodeError, TypeError) as exc:
        return {"e": "malformed", "m": str(exc), "raw": str(frame)[:120]}


class StreamConnection:
    """An open socket, its symbols, when it opened and last spoke (loop time), and whether it
    failed (`failed` is set once, with `reason`)."""

    def __init__(self, sock: Any, symbols: tuple[str, ...], now: float) -> None:
        self.sock = sock
        self.symbols = symbols
        self.opened_at = now
        self.last_msg_at = now
        self.messages = 0
        self.failed = asyncio.Event()
        self.first_message = asyncio.Event()
        self.reason = ""
        self.reader: asyncio.Task[None] | None = None

    def fail(self, reason: str) -> None:
        if not self.failed.is_set():
            self.reason = reason
            self.failed.set()

    def heard(self, now: float) -> None:
        self.last_msg_at = now
        self.messages += 1
        self.first_message.set()

    async def close(self) -> None:
        """Stop the reader and close the socket, within CLOSE_S; never raises (it may already
        be broken). What a polite close leaves running is ended: python-binance's read loop
        spins on a socket stuck in CLOSING (a peer that never answers the close frame) and
        would keep the process from exiting, so the transport is aborted and that loop
        cancelled."""
        if self.reader is not None:
            self.reader.cancel()
        try:
            await asyncio.wait_for(self.sock.__aexit__(None, None, None), CLOSE_S)
        except Exception as exc:  # closing a broken socket may fail in many ways
            log.debug("feed: closing socket: %r", exc)
        finally:
            self._abort()

    def _abort(self) -> None:
        ws = getattr(self.sock, "ws", None)
        transport = getattr(ws, "transport", None)
        if transport is not None:
            transport.abort()
        for task in asyncio.all_tasks():
            coro = task.get_coro()
            frame = getattr(coro, "cr_frame", None)
            if (
                frame is not None
                and getattr(coro, "__name__", "") == "_read_loop"
                and frame.f_locals.get("self") is self.sock
            ):
                task.cancel()


async def open_connection(
    client: Any,
    symbols: tuple[str, ...],
    stream_url: str | None,
    max_queue_size: int,
    timeout_s: float,
) -> StreamConnection:
    """Connect a multiplex socket for `symbols`; raises what connecting raised."""
    bsm = BinanceSocketManager(client, max_queue_size=max_queue_size)
    if stream_url:
        bsm.STREAM_TESTNET_URL = stream_url
    sock = bsm.multiplex_socket([f"{s.lower()}@trade" for s in symbols])
    sock.MAX_RECONNECTS = 0  # the supervisor reconnects, with its own backoff
    sock.TIMEOUT = 0.5  # the read loop notices a close request within this
    sock._handle_message = tolerant_decode
    conn = StreamConnection(sock, symbols, asyncio.get_running_loop().time())
    queue_error = sock._propagate_error

    async def report(error: dict[str, Any]) -> None:
        # python-binance's hook for errors: its read loop ends right after the first one it
        # reports (overflow, unable to connect), and recv() may then raise ReadLoopClosed
        # without ever returning the error dict.
        conn.fail(f"{error.get('type')}: {error.get('m')}")
        await queue_error(error)

    sock._propagate_error = report
    await asyncio.wait_for(sock.__aenter__(), timeout_s)
    conn.opened_at = conn.last_msg_at = asyncio.get_running_loop().time()
    return conn
