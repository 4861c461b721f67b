"""Record what the service's pipeline consumed, and read it back for an exact replay.

A recording is gzip-compressed JSON lines, one event per line, in the order the pipeline saw
them. A recording made by the service (`python main.py --record FILE`) holds:

- `{"e": "recording", "v": 2, ...}` first: the header (mode, symbols, variants);
- `{"e": "symbolInfo", "info": {...}}`: the exchangeInfo entry of each symbol;
- `{"e": "warmup", "s": SYM, "k": [rows]}`: the REST klines rows the symbol was warmed up with;
- every trade the pipeline consumed, in Binance's trade-event shape (`e s t p q T m`), with
  `r` (the service's clock when the frame arrived) for a stream trade and `"bf": true` for one
  backfilled from REST after a gap (an aggregate from `aggTrades` as an `aggTrade` event);
- what else moved the pipeline's state between two trades: `hold` / `release` / `gap` (the
  feed's calls on the aggregator while it reconnected or backfilled), `close` (the clock closed
  every minute up to `t` of the symbols not held: a quiet minute), `symbol` (added/removed at
  run time), `position` (the executor told the strategy what a (variant, symbol) holds: the
  point where an order's outcome took effect), `fill` / `orderError` (the exchange's answer
  to an order, by client order id).

`backtest.replay` feeds these through the same classes in the same order. Older recordings
(raw `<symbol>@trade` stream events only) still replay, through the generic trade path.

Writing happens on a writer thread that the Recorder owns, so `record()` never blocks the
event loop; the gzip stream is flushed after every batch, so a crash loses at most the batch in
flight, and a torn tail is detected, reported and skipped on read.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import queue
import threading
import zlib
from collections.abc import Generator, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from aggregation.models import Candle
from backtest.klines import BadDataFile
from data_ingestion.backfill import BackfillError, agg_trade_to_tick
from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError, trade_to_tick
from execution.models import BrokerFill

log = logging.getLogger(__name__)

_STOP = object()
_BATCH = 2000
_CHUNK = 64 * 1024
FORMAT_VERSION = 2  # 1: raw stream trade events only; 2: everything the pipeline consumed

# Event kinds (`e`) besides Binance's `trade` / `aggTrade`.
HEADER, SYMBOL_INFO, WARMUP = "recording", "symbolInfo", "warmup"
HOLD, RELEASE, GAP, CLOSE, SYMBOL = "hold", "release", "gap", "close", "symbol"
POSITION, FILL, ORDER_ERROR = "position", "fill", "orderError"


def _num(value: Decimal) -> str:
    """A Decimal as Binance writes it: plain digits, never an exponent, exponent kept."""
    return format(value, "f")


def tick_event(tick: Tick) -> dict[str, Any]:
    """A consumed trade as a line: a stream trade (received_ms > 0) keeps `r`, one from REST
    is marked `bf`; an aggregate (count > 1, from aggTrades) becomes an `aggTrade` event."""
    if tick.count > 1:
        return {
            "e": "aggTrade", "s": tick.symbol, "a": tick.trade_id,
            "f": tick.trade_id - tick.count + 1, "l": tick.trade_id, "p": _num(tick.price),
            "q": _num(tick.qty), "T": tick.trade_time_ms, "m": tick.is_buyer_maker, "bf": True,
        }  # fmt: skip
    event: dict[str, Any] = {
        "e": "trade", "s": tick.symbol, "t": tick.trade_id, "p": _num(tick.price),
        "q": _num(tick.qty), "T": tick.trade_time_ms, "m": tick.is_buyer_maker,
    }  # fmt: skip
    if tick.received_ms:
        event["r"] = tick.received_ms
    else:
        event["bf"] = True
    return event


def recorded_tick(event: dict[str, Any]) -> Tick | None:
    """The Tick of a trade line (`trade`, raw or as recorded, or `aggTrade`); None for a line
    of another kind. Raises FrameError for a malformed trade line."""
    kind = event.get("e")
    if kind == "trade":
        received = event.get("r", 0)
        return trade_to_tick(event, received if type(received) is int else 0)
    if kind == "aggTrade":
        symbol = event.get("s")
        if type(symbol) is not str or not symbol:
            raise FrameError("aggTrade line without a symbol")
        try:
            return agg_trade_to_tick(symbol, event)
        except BackfillError as exc:
            raise FrameError(str(exc)) from None
    return None


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
        self.record({"e": SYMBOL_INFO, "info": info})

    # -- what the service records (see the module docstring) ---------------------------------

    def record_header(self, info: dict[str, Any]) -> None:
        self.record({"e": HEADER, "v": FORMAT_VERSION, **info})

    def record_warmup_candles(self, symbol: str, candles: Iterable[Candle]) -> None:
        self.record_warmup(symbol, [candle.to_kline_row() for candle in candles])

    def record_tick(self, tick: Tick) -> None:
        if self._accepting:
            self._queue.put(tick_event(tick))

    def record_gate(self, op: str, symbol: str) -> None:
        """The feed held (`hold`) or let go of (`release`) a symbol in the aggregator."""
        self.record({"e": op, "s": symbol})

    def record_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None:
        self.record({"e": GAP, "s": symbol, "a": start_ms, "b": end_ms, "filled": filled})

    def record_close(self, last_open_time: int, now_ms: int) -> None:
        """The clock closed every minute up to `last_open_time` of the symbols not held."""
        self.record({"e": CLOSE, "t": last_open_time, "c": now_ms})

    def record_symbol(self, op: str, symbol: str) -> None:
        self.record({"e": SYMBOL, "s": symbol, "op": op})

    def record_position(
        self, variant: str, symbol: str, qty: Decimal, entry: Decimal | None
    ) -> None:
        self.record(
            {"e": POSITION, "variant": variant, "s": symbol, "q": _num(qty),
             "p": None if entry is None else _num(entry)}
        )  # fmt: skip

    def record_fill(self, symbol: str, fill: BrokerFill) -> None:
        self.record(
            {"e": FILL, "s": symbol, "c": fill.client_order_id, "p": _num(fill.avg_price),
             "q": _num(fill.executed_qty), "n": _num(fill.commission),
             "N": fill.commission_asset, "i": fill.exchange_order_id, "T": fill.fill_time_ms}
        )  # fmt: skip

    def record_order_error(
        self, symbol: str, client_order_id: str, code: int | None, final: bool
    ) -> None:
        """The exchange refused an order (`final`: rejected; else the outcome was unknown)."""
        self.record(
            {"e": ORDER_ERROR, "s": symbol, "c": client_order_id, "code": code, "final": final}
        )

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


def read_recording(path: Path) -> Generator[tuple[int, dict[str, Any]], None, None]:
    """(line number, event dict) for each line; gzip or plain JSON lines.

    A torn last line or a truncated gzip stream (a crash while recording) ends the read with a
    warning after every complete line before it; a malformed line elsewhere raises
    `BadDataFile`.
    """
    with path.open("rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        chunks = _gunzip(path, handle) if compressed else iter(lambda: handle.read(_CHUNK), b"")
        line_no = 0
        rest = b""
        for chunk in chunks:
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for raw in lines:
                line_no += 1
                stripped = raw.strip()
                if stripped:
                    yield line_no, _decode(path, line_no, stripped)
    if rest.strip():
        line_no += 1
        try:
            event = orjson.loads(rest)
        except orjson.JSONDecodeError:
            log.warning("%s:%d: torn last line skipped (%d bytes)", path, line_no, len(rest))
            return
        if isinstance(event, dict):
            yield line_no, event


def recording_header(path: Path) -> dict[str, Any] | None:
    """The header of a recording the service wrote (format 2 or later), else None."""
    events = read_recording(path)
    try:
        first = next(events, None)
    except BadDataFile:
        return None
    finally:
        events.close()
    if first is None or first[1].get("e") != HEADER:
        return None
    version = first[1].get("v")
    return first[1] if type(version) is int and version >= FORMAT_VERSION else None


def _gunzip(path: Path, handle: Any) -> Iterator[bytes]:
    """The decompressed bytes of every gzip member, as far as they go: a stream cut short (no
    end-of-stream marker) or damaged at its end is reported and ends the data."""
    inflater = zlib.decompressobj(wbits=31)
    fed = False  # the current member has started
    while chunk := handle.read(_CHUNK):
        while chunk:
            fed = True
            try:
                out = inflater.decompress(chunk)
            except zlib.error as exc:
                log.warning("%s: recording damaged near its end (%s); replaying what precedes",
                            path, exc)  # fmt: skip
                return
            if out:
                yield out
            if not inflater.eof:
                break
            chunk = inflater.unused_data  # the next gzip member, if any
            inflater, fed = zlib.decompressobj(wbits=31), False
    if fed and not inflater.eof:
        tail = inflater.flush()
        if tail:
            yield tail
        log.warning("%s: recording ends early (torn gzip stream: a crash while writing?)", path)


def _decode(path: Path, line: int, raw: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadDataFile(path, line, "not a JSON object") from None
    if not isinstance(event, dict):
        raise BadDataFile(path, line, "not a JSON object")
    return event
