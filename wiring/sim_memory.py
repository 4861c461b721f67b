"""What a simulated exchange would remember of a journal: `--simulate` restarted goes on.

The in-process simulator keeps its account in memory. Restarted on the same journal, the
service would ask a new, empty simulator about its newest fill, be told -2013 and conclude
that the exchange was reset (execution.exchange_check). So the runner reads the journal
first and hands the new simulator the orders it had executed (`simulator.RestoredOrder`):

- every `filled` order (MARKET or STOP_LOSS) of mode `simulated`, with its fill;
- every stop still resting: `open`, and neither `canceled` nor `filled` later.

A `reset` line means the exchange forgot everything before it: only what follows counts.
Intents without an outcome are not restored: the journal does not know whether they reached
the exchange, and an exchange that never saw them answers -2013, so the service's recovery
marks them abandoned; their fills (if the killed run had any) died with that simulator, and
neither the positions nor the balances count them (docs/simulator.md "Restart").
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from pathlib import Path

import orjson

from execution.codec import RESET, Entry, ExchangeReset, decode
from execution.models import Mode, OrderRecord, OrderStatus
from simulator import RestoredOrder

log = logging.getLogger("service")
# The journal lines an exchange remembers something of (intents and signal notes are not).
_REMEMBERED = frozenset({OrderStatus.FILLED, OrderStatus.OPEN, OrderStatus.CANCELED, RESET})


def exchange_memory(entries: Iterable[Entry], symbols: Collection[str]) -> list[RestoredOrder]:
    """The simulator's orders (oldest first) after the journal's `entries`, for `symbols`."""
    filled: dict[str, OrderRecord] = {}
    resting: dict[str, OrderRecord] = {}
    for entry in entries:
        if isinstance(entry, ExchangeReset):
            filled.clear()
            resting.clear()
            continue
        if not isinstance(entry, OrderRecord) or entry.mode != Mode.SIMULATED.value:
            continue
        if entry.symbol not in symbols:
            continue
        cid = entry.client_order_id
        if entry.status is OrderStatus.FILLED and entry.executed_qty > 0:
            resting.pop(cid, None)
            filled.setdefault(cid, entry)  # executed once, whatever the journal repeats
        elif entry.status is OrderStatus.OPEN and entry.order_type == "STOP_LOSS":
            if cid not in filled:
                resting[cid] = entry
        elif entry.status is OrderStatus.CANCELED:
            resting.pop(cid, None)
    orders = [_restored(r) for r in filled.values()] + [_resting(r) for r in resting.values()]
    return sorted(orders, key=lambda r: r.time_ms)


def _restored(r: OrderRecord) -> RestoredOrder:
    return RestoredOrder(
        symbol=r.symbol,
        side=r.side.value,
        client_order_id=r.client_order_id,
        quantity=r.quantity if r.quantity > 0 else r.executed_qty,
        time_ms=r.fill_time_ms or r.time_ms,
        type=r.order_type,
        status="FILLED",
        executed_qty=r.executed_qty,
        quote_qty=r.quote_qty,
        commission=r.commission,
        commission_asset=r.commission_asset or "",
        order_id=r.exchange_order_id,
        stop_price=r.stop_price,
    )


def _resting(r: OrderRecord) -> RestoredOrder:
    return RestoredOrder(
        symbol=r.symbol,
        side=r.side.value,
        client_order_id=r.client_order_id,
        quantity=r.quantity,
        time_ms=r.time_ms,
        type=r.order_type,
        status="NEW",
        order_id=r.exchange_order_id,
        stop_price=r.stop_price,
    )


def read_memory(path: Path, symbols: Collection[str]) -> list[RestoredOrder]:
    """`exchange_memory` of the journal at `path` (blocking: run it off the event loop).

    Only the lines that matter are decoded (outcomes and resets; intents and signal notes are
    most of a journal): the service reads the whole journal again when it starts. A line or a
    journal that cannot be read restores nothing (torn lines are skipped): the service's own
    start reports it, naming the file and line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries: list[Entry] = []
    try:
        for raw in data.split(b"\n"):
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # empty, or torn by a crash
            if isinstance(rec, dict) and rec.get("type") in _REMEMBERED:
                entry = decode(rec)
                if entry is not None:
                    entries.append(entry)
        return exchange_memory(entries, symbols)
    except Exception as exc:  # a journal the service will refuse, or an order out of shape
        log.warning("the simulator starts empty: the journal %s cannot be read (%s)", path, exc)
        return []
