"""Stops that rest on the exchange (STOP_MODE=exchange): a position stays protected while the
service is down.

For every open position there is one STOP_LOSS SELL on the exchange for its sellable quantity
at entry × (1 − stop_loss), on PRICE_FILTER's tick (rounded down). It is an order like any
other: its intent is journaled first under a client order id derived from the entry's
(`ids.stop_order_id`), it is sent once (`execution.once`), and its life is journaled: `open`
while it rests, then `filled` (an exit with reason stop_loss and the exchange's fill) or
`canceled`.

- `protect(position)` after every fill makes the exchange's stop match the position (places,
  replaces, or cancels it).
- `release(...)` before an exit cancels the stop. When the exchange says it had already
  filled, that fill is the exit: the caller must not sell again.
- `check(...)` asks the exchange about a stop (a user-data event said it changed, or the
  stream is down and this is the polling fallback).
- At start, `restore` (what the ledger says: `StopMemory`) + `reconcile`: a stop that filled
  while the service was down becomes the exit record, a position without a live stop gets
  one, a stop without a position is canceled.

Every call runs in the executor's worker of that (variant, symbol), so stop, exit and entry of
one position never race inside the service; the races with the exchange (the stop fills while
an exit is on its way) are settled by asking the exchange about the stop's id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from typing import Any, Protocol

from core.clock import Clock
from execution.codec import decode, encode
from execution.errors import CancelRejectedError, ExchangeError, TimestampError, classify
from execution.ids import stop_order_id
from execution.models import OrderRecord, OrderStatus, Position, RestingOrder
from execution.once import OnceOnly
from execution.rules import SymbolRules
from strategy.models import Side, SignalReason

log = logging.getLogger(__name__)
STOP_LOSS = "STOP_LOSS"
_LIVE = (OrderStatus.INTENT, OrderStatus.OPEN)


class StopMemory:
    """What the ledger says of stops, folded order record by order record: the stop last
    intended or open per position, how many stops each position ever had (a replacement gets
    a new id) and the newest entry behind it."""

    def __init__(self) -> None:
        self.live: dict[tuple[str, str], OrderRecord] = {}
        self.versions: Counter[tuple[str, str]] = Counter()
        self.entries: dict[tuple[str, str], str] = {}

    def apply(self, rec: OrderRecord) -> None:
        key = (rec.variant, rec.symbol)
        if rec.order_type == STOP_LOSS:
            self.versions[key] += rec.status is OrderStatus.INTENT
            if rec.status in _LIVE:
                self.live[key] = rec
            elif self.live.get(key, rec).client_order_id == rec.client_order_id:
                self.live.pop(key, None)
        elif rec.filled and rec.side is Side.BUY:
            self.entries[key] = rec.client_order_id

    def snapshot(self) -> dict[str, Any]:
        return {
            "live": [encode(rec) for rec in self.live.values()],
            "versions": [[v, s, n] for (v, s), n in self.versions.items()],
            "entries": [[v, s, cid] for (v, s), cid in self.entries.items()],
        }

    def restore(self, obj: dict[str, Any]) -> None:
        self.live = {}
        for raw in obj["live"]:
            rec = decode(raw)
            assert isinstance(rec, OrderRecord)
            self.live[(rec.variant, rec.symbol)] = rec
        self.versions = Counter({(v, s): int(n) for v, s, n in obj["versions"]})
        self.entries = {(v, s): cid for v, s, cid in obj["entries"]}


class StopBroker(Protocol):
    mode: str

    def rules(self, symbol: str) -> SymbolRules: ...

    async def place_stop(
        self, symbol: str, quantity: Decimal, stop_price: Decimal, client_order_id: str
    ) -> RestingOrder: ...

    async def find_stop(self, symbol: str, client_order_id: str) -> RestingOrder | None: ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> RestingOrder: ...


def stop_price_for(entry: Decimal, stop_loss: Decimal, tick: Decimal) -> Decimal:
    """entry × (1 − stop_loss), rounded down to the tick (a stop never above its level)."""
    level = entry * (1 - stop_loss)
    if tick <= 0:
        return level
    return (level / tick).to_integral_value(rounding=ROUND_DOWN) * tick


class ExchangeStops:
    """The live stop of each (variant, symbol) and what to do about it."""

    def __init__(
        self,
        broker: StopBroker,
        once: OnceOnly,
        clock: Clock,
        stop_loss_of: Callable[[str], Decimal],
        record: Callable[[OrderRecord], Awaitable[OrderRecord]],
        retry_s: float = 0.2,
    ) -> None:
        self._broker = broker
        self._once = once
        self._clock = clock
        self._stop_loss_of = stop_loss_of
        self._record = record  # journal + publish (+ positions for a fill): the executor's
        self._retry_s = retry_s
        self._live: dict[tuple[str, str], OrderRecord] = {}
        self._versions: Counter[tuple[str, str]] = Counter()  # stops ever placed per position
        self._entries: dict[tuple[str, str], str] = {}  # the position's newest entry id
        self.counts: Counter[str] = Counter()  # placed, filled, canceled (metrics)

    # -- reading -------------------------------------------------------------------------

    def live(self, variant: str, symbol: str) -> OrderRecord | None:
        """The stop resting (or being placed) for this position, if any."""
        return self._live.get((variant, symbol))

    def all_live(self) -> list[OrderRecord]:
        return list(self._live.values())

    def forget_all(self) -> None:
        """The exchange was reset: no stop of ours rests there any more."""
        self._live.clear()

    def owner_of(self, client_order_id: str) -> tuple[str, str] | None:
        """The (variant, symbol) whose live stop has this id, if any."""
        for key, stop in self._live.items():
            if stop.client_order_id == client_order_id:
                return key
        return None

    # -- start -----------------------------------------------------------------------------

    def restore(self, memory: StopMemory) -> None:
        """The stops the ledger last saw intended or open, and the entries behind them."""
        self._live = dict(memory.live)
        self._versions = Counter(memory.versions)
        self._entries = dict(memory.entries)

    async def reconcile(self, positions: Callable[[], list[Position]]) -> None:
        """Ask the exchange about every stop the journal left live (a fill while the service
        was down becomes the exit), protect every open position, cancel stops left without
        one."""
        for stop in list(self._live.values()):
            await self.check(stop.variant, stop.symbol)
        held = positions()
        for pos in held:
            await self.protect(pos)
        open_keys = {(p.variant, p.symbol) for p in positions() if p.is_open}
        for key in [k for k in self._live if k not in open_keys]:
            await self.release(*key)

    # -- the position's stop ----------------------------------------------------------------

    async def protect(self, pos: Position, entry: OrderRecord | None = None) -> None:
        """Make the exchange's stop match `pos` (after a fill, at start, on a new stop-loss)."""
        key = (pos.variant, pos.symbol)
        if entry is not None and entry.side is Side.BUY:
            self._entries[key] = entry.client_order_id
        current = self._live.get(key)
        want = self._wanted(pos)
        if current is not None:
            if want is not None and (current.quantity, current.stop_price) == want:
                return
            released = await self.release(*key)
            if released is not None and released.filled:
                return  # it sold before it could be replaced: that was the exit
        if want is None or key not in self._entries:
            return
        qty, price = want
        rules = self._broker.rules(pos.symbol)
        why = rules.check_market(qty, price)
        if why is None and rules.min_price and price < rules.min_price:
            why = f"PRICE_FILTER: stop price {price} below minPrice {rules.min_price}"
        if why is not None:
            log.warning(
                "%s %s has no stop on the exchange (%s): the service's own stop watches it",
                pos.variant, pos.symbol, why,
            )  # fmt: skip
            return
        await self._place(pos, qty, price)

    def price_for(self, pos: Position) -> Decimal | None:
        """The stop price this position's stop order has, or gets: None when flat."""
        wanted = self._wanted(pos)
        return None if wanted is None else wanted[1]

    def _wanted(self, pos: Position) -> tuple[Decimal, Decimal] | None:
        if not pos.is_open or pos.entry_price is None:
            return None
        tick = self._broker.rules(pos.symbol).tick_size
        return pos.qty, stop_price_for(pos.entry_price, self._stop_loss_of(pos.variant), tick)

    async def _place(self, pos: Position, qty: Decimal, price: Decimal) -> None:
        key = (pos.variant, pos.symbol)
        self._versions[key] += 1
        cid = stop_order_id(self._entries[key], self._versions[key])
        now = self._clock.now_ms()
        intent = OrderRecord(
            status=OrderStatus.INTENT, client_order_id=cid, variant=pos.variant,
            symbol=pos.symbol, side=Side.SELL, quantity=qty, reason=SignalReason.STOP_LOSS,
            mode=self._broker.mode, signal_time_ms=now, time_ms=now, closing=True,
            order_type=STOP_LOSS, stop_price=price,
        )  # fmt: skip
        self._live[(pos.variant, pos.symbol)] = intent
        await self._record(intent)  # durable before the request
        broker, symbol = self._broker, pos.symbol
        result = await self._once.send(
            cid,
            lambda: broker.place_stop(symbol, qty, price, cid),
            lambda: broker.find_stop(symbol, cid),
        )
        if isinstance(result, ExchangeError):
            self._live.pop((pos.variant, pos.symbol), None)
            log.warning("stop %s refused by the exchange: %s", cid, result)
            await self._record(intent.refused(str(result), result.code, self._clock.now_ms()))
            return
        self.counts["placed"] += 1
        await self._settle(intent, result)

    async def release(self, variant: str, symbol: str) -> OrderRecord | None:
        """Cancel the position's stop before an exit. Returns the stop's last record:
        `canceled`, or `filled` when it had already sold (the exit must not sell again)."""
        stop = self._live.get((variant, symbol))
        if stop is None:
            return None
        while True:
            state: RestingOrder | None
            try:
                try:
                    state = await self._broker.cancel_order(symbol, stop.client_order_id)
                except CancelRejectedError:  # not open any more: filled? canceled? absent?
                    state = await self._broker.find_stop(symbol, stop.client_order_id)
            except Exception as raw:  # the cancel's outcome is unknown: ask again
                err = classify(raw)
                log.warning("cancel of stop %s: %s; retrying", stop.client_order_id, err)
                if isinstance(err, TimestampError):
                    await self._once.resync(stop.client_order_id)
                    continue
                await asyncio.sleep(self._retry_s)
                continue
            if state is None or not state.live:
                # A ledger that cannot take the record raises here: the exit waits for it
                # (the stop's end is asked again then), instead of cancelling again for ever.
                return await self._settle(stop, state)
            await asyncio.sleep(self._retry_s)

    async def check(self, variant: str, symbol: str) -> OrderRecord | None:
        """Ask the exchange about the position's stop; record a fill or a cancel. Returns the
        stop's record when it is no longer live."""
        stop = self._live.get((variant, symbol))
        if stop is None:
            return None
        try:
            state = await self._broker.find_stop(symbol, stop.client_order_id)
        except Exception as raw:
            log.warning("lookup of stop %s: %s", stop.client_order_id, classify(raw))
            return None
        if state is not None and state.live and stop.status is OrderStatus.OPEN:
            return None
        rec = await self._settle(stop, state)
        return None if rec.status is OrderStatus.OPEN else rec

    async def _settle(self, stop: OrderRecord, state: RestingOrder | None) -> OrderRecord:
        """Journal what the exchange says of `stop` (None: it does not know it)."""
        key, now = (stop.variant, stop.symbol), self._clock.now_ms()
        if state is not None and state.live:
            rec = stop.resting(state.exchange_order_id, now)
            self._live[key] = rec
            return await self._record(rec)
        self._live.pop(key, None)
        if state is not None and state.fill is not None:
            self.counts["filled"] += 1
            log.warning(
                "stop %s filled on the exchange: %s %s at %s", stop.client_order_id,
                state.fill.executed_qty, stop.symbol, state.fill.avg_price,
            )  # fmt: skip
            return await self._record(stop.filled_by(state.fill, now))
        self.counts["canceled"] += 1
        if state is None:
            return await self._record(stop.canceled(now, "not on the exchange"))
        rec = replace(stop, exchange_order_id=state.exchange_order_id)
        return await self._record(rec.canceled(now, f"the exchange says {state.status}"))
