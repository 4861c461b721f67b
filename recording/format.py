"""The recording format: one JSON event per line (gzip or plain), and how to read it back.

See `recording.recorder` for what a recording made by the service holds. Reading detects a
torn last line or a truncated gzip stream (a crash while recording), reports it and replays
everything before it; a malformed line elsewhere raises `BadDataFile`.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Generator, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from core.errors import BadDataFile
from core.variants import VariantSettings
from data_ingestion.backfill import BackfillError, agg_trade_to_tick
from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError, trade_to_tick

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
FORMAT_VERSION = 2  # 1: raw stream trade events only; 2: everything the pipeline consumed

# Event kinds (`e`) besides Binance's `trade` / `aggTrade`.
HEADER, SYMBOL_INFO, WARMUP = "recording", "symbolInfo", "warmup"
HOLD, RELEASE, GAP, CLOSE, SYMBOL = "hold", "release", "gap", "close", "symbol"
POSITION, FILL, ORDER_ERROR = "position", "fill", "orderError"


def header_variants(variants: Iterable[VariantSettings]) -> list[list[Any]]:
    """The variants as a recording's header lists them: `[name, stop_loss, ema_period,
    sma_period, spec]`, the spec naming the strategy, its parameters and the interval
    (`rsi(period=14,…)@5m`). Headers written before the spec have the first four only."""
    return [[v.name, str(v.stop_loss), v.ema_period, v.sma_period, v.spec] for v in variants]


def variants_differ(recorded: Any, ours: list[list[Any]]) -> bool:
    """Whether a header's variants differ from `ours` (`header_variants`), compared on what
    both have: an older header without the spec is compared on its four fields."""
    if not isinstance(recorded, list) or len(recorded) != len(ours):
        return True
    for theirs, mine in zip(recorded, ours, strict=True):
        if not isinstance(theirs, list):
            return True
        both = min(len(theirs), len(mine))
        if theirs[:both] != mine[:both]:
            return True
    return False


def num_text(value: Decimal) -> str:
    """A Decimal as Binance writes it: plain digits, never an exponent, exponent kept."""
    return format(value, "f")


def tick_event(tick: Tick) -> dict[str, Any]:
    """A consumed trade as a line: a stream trade (received_ms > 0) keeps `r`, one from REST
    is marked `bf`; an aggregate (count > 1, from aggTrades) becomes an `aggTrade` event."""
    if tick.count > 1:
        return {
            "e": "aggTrade", "s": tick.symbol, "a": tick.trade_id,
            "f": tick.trade_id - tick.count + 1, "l": tick.trade_id, "p": num_text(tick.price),
            "q": num_text(tick.qty), "T": tick.trade_time_ms, "m": tick.is_buyer_maker, "bf": True,
        }  # fmt: skip
    event: dict[str, Any] = {
        "e": "trade", "s": tick.symbol, "t": tick.trade_id, "p": num_text(tick.price),
        "q": num_text(tick.qty), "T": tick.trade_time_ms, "m": tick.is_buyer_maker,
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
