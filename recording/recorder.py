"""Record what the service's pipeline consumed, and read it back for an exact replay.

A recording is gzip-compressed JSON lines, one event per line, in the order the pipeline saw
them. A recording made by the service (`python main.py --record FILE`) holds:

- `{"e": "recording", "v": 2, ...}` first: the header (mode, symbols, variants as
  `[name, stop_loss, ema_period, sma_period, spec]`: `recording.format.header_variants`);
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
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from aggregation.models import Candle
from data_ingestion.models import Tick
from execution.models import BrokerFill
from recording.format import (
    CLOSE,
    FILL,
    FORMAT_VERSION,
    GAP,
    HEADER,
    ORDER_ERROR,
    POSITION,
    SYMBOL,
    SYMBOL_INFO,
    num_text,
    tick_event,
)

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
            {"e": POSITION, "variant": variant, "s": symbol, "q": num_text(qty),
             "p": None if entry is None else num_text(entry)}
        )  # fmt: skip

    def record_fill(self, symbol: str, fill: BrokerFill) -> None:
        self.record(
            {"e": FILL, "s": symbol, "c": fill.client_order_id, "p": num_text(fill.avg_price),
             "q": num_text(fill.executed_qty), "n": num_text(fill.commission),
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
