"""A minimal WebSocket client for the fan-out benchmark (RFC 6455, client side, text frames).

It timestamps every frame in `data_received`, the moment its bytes are read from the socket,
so the latency measured is the server's and the kernel's, not the client's own task
scheduling; it does no more than split frames and answer pings (uvicorn pings every 20 s and
closes a client that does not answer). Its CPU cost per message is about that of the
`websockets` client (`--client websockets` compares them).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Callable

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA


class HandshakeError(Exception):
    pass


class RawWsClient(asyncio.Protocol):
    """One connection. `on_text(payload, read_ns)` gets each complete text message."""

    def __init__(self, host: str, path: str, on_text: Callable[[bytes, int], None]) -> None:
        loop = asyncio.get_running_loop()
        self.host = host
        self.path = path
        self.on_text = on_text
        self.key = base64.b64encode(os.urandom(16))
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.parts: list[bytes] = []
        self.handshaken = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (self.path.encode(), self.host.encode(), self.key)
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buf += data
        if not self.handshaken and not self._handshake():
            return
        self._frames(now)

    def _handshake(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        if not head.startswith("HTTP/1.1 101") or accept not in head:
            self._fail(HandshakeError(head.splitlines()[0] if head else "empty answer"))
            return False
        self.handshaken = True
        self.opened.set_result(None)
        return True

    def _frames(self, now: int) -> None:
        buf = self.buf
        while len(buf) >= 2:
            b0, length = buf[0], buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])  # server frames are not masked
            del buf[: offset + length]
            opcode = b0 & 0x0F
            if opcode in (OP_TEXT, OP_CONT):
                self.parts.append(payload)
                if b0 & 0x80:  # FIN
                    message = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
                    self.parts.clear()
                    self.on_text(message, now)
            elif opcode == OP_PING:
                self.send_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.send_frame(OP_CLOSE, payload[:2])
                if self.transport is not None:
                    self.transport.close()

    def send_frame(self, opcode: int, payload: bytes) -> None:
        """A control frame (payload <= 125 bytes); client frames are masked (RFC 6455 5.3)."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def close(self) -> None:
        self.send_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)


async def open_client(
    host: str, port: int, path: str, on_text: Callable[[bytes, int], None]
) -> RawWsClient:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(60):
        _, protocol = await loop.create_connection(
            lambda: RawWsClient(f"{host}:{port}", path, on_text), host, port
        )
        await protocol.opened
    return protocol
