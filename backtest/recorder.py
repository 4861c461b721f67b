"""Record the raw trade stream to a file, and read it back for a replay.

A recording is gzip-compressed JSON lines, one raw `<symbol>@trade` event dict per line exactly
as the stream delivered it (Binance's fields e, E, s, t, p, q, T, m, M). Writing happens on a
writer thread that the Recorder owns, so `record()` never blocks the event loop; the gzip stream
is flushed after every batch, so a crash loses at most the batch in flight, and a torn tail is
detected and skipped on read.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import queue
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from backtest.klines import BadDataFile

log = logging.getLogger(__name__)

_STOP = object()
_BATCH = 2000


class Recorder:
    """Owned writer of a recording.

    `await start()` opens the file (truncating it), `record(event)` queues one raw event dict
    without blocking, `await stop()` writes what is queued, closes the file and joins the thread.
    """

    def __init__(self, path: Path | str, flush_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.recorded = 0  # events written to the file
        self.failed: BaseException | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._accepting = False

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("recorder already started")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = await asyncio.to_thread(gzip.open, self.path, "wb", 6)
        self._thread = threading.Thread(
            target=self._write_loop, args=(handle,), name=f"recorder:{self.path.name}", daemon=True
        )
        self._accepting = True
        self._thread.start()

    def record(self, event: dict[str, Any]) -> None:
        """Queue one raw stream event; never blocks. Ignored before start and after stop."""
        if self._accepting:
            self._queue.put(event)

    def record_warmup(self, symbol: str, rows: list[list[Any]]) -> None:
        """The REST klines rows the service warmed `symbol` up with (a line
        `{"e": "warmup", "s": SYMBOL, "k": rows}`): a replay primes its indicators with them,
        which a replay needs to reproduce the live run's signals exactly."""
        self.record({"e": "warmup", "s": symbol, "k": rows})

    def record_symbol_info(self, info: dict[str, Any]) -> None:
        """One exchangeInfo `symbols` entry (`{"e": "symbolInfo", "info": …}`): a replay sizes and
        checks orders with the same LOT_SIZE/NOTIONAL rules as the recorded run."""
        self.record({"e": "symbolInfo", "info": info})

    async def stop(self) -> None:
        """Write everything queued, close the file, join the writer thread."""
        if self._thread is None:
            return
        self._accepting = False
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None
        if self.failed is not None:
            log.error("recording %s failed: %r", self.path, self.failed)

    def _write_loop(self, handle: gzip.GzipFile) -> None:
        try:
            done = False
            while not done:
                try:
                    item = self._queue.get(timeout=self.flush_interval_s)
                except queue.Empty:
                    continue
                lines: list[bytes] = []
                while True:
                    if item is _STOP:
                        done = True
                        break
                    lines.append(orjson.dumps(item))
                    if len(lines) >= _BATCH:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if lines:
                    handle.write(b"\n".join(lines) + b"\n")
                    handle.flush()  # a gzip sync flush: what is written survives a crash
                    self.recorded += len(lines)
        except BaseException as exc:  # the thread must not die silently
            self.failed = exc
        finally:
            handle.close()


def read_recording(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw event dict) for each line; gzip or plain JSON lines.

    A torn last line or a truncated gzip stream (a crash while recording) ends the read with a
    warning; a malformed line anywhere else raises `BadDataFile`.
    """
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    line_no = 0
    pending: bytes | None = None
    with opener(path, "rb") as handle:
        try:
            for raw in handle:
                if pending is not None:
                    yield line_no, _decode(path, line_no, pending)
                    pending = None
                line_no += 1
                stripped = raw.strip()
                if not stripped:
                    continue
                if not raw.endswith(b"\n"):
                    pending = stripped  # maybe torn: decide after the loop
                    continue
                yield line_no, _decode(path, line_no, stripped)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            log.warning("%s: recording ends early after line %d (%s)", path, line_no, exc)
    if pending is not None:
        try:
            event = orjson.loads(pending)
        except orjson.JSONDecodeError:
            log.warning("%s:%d: torn last line skipped", path, line_no)
            return
        if isinstance(event, dict):
            yield line_no, event


def _decode(path: Path, line: int, raw: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadDataFile(path, line, "not a JSON object") from None
    if not isinstance(event, dict):
        raise BadDataFile(path, line, "not a JSON object")
    return event
