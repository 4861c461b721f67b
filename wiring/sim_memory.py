"""What a simulated exchange would remember of a journal: `--simulate` restarted goes on.

The in-process simulator keeps its account in memory. Restarted on the same journal, the
service would ask a new, empty simulator about its newest fill, be told -2013 and conclude
that the exchange was reset (execution.exchange_check). So the runner reads the ledger
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

from execution.codec import Entry, ExchangeReset
from execution.models import Mode, OrderRecord, OrderStatus
from simulator import RestoredOrder

log = logging.getLogger("service")


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
