"""Signals in, orders out: sizing, risk, filters, journal-before-send, once-only resolution.

`submit(signal)` never waits: it puts the signal on the queue of its (variant, symbol); one
worker per queue serialises that pair's orders. For each order the worker writes the intent
durably to the journal, sends it, resolves an unknown outcome by looking the client order id
up (resending the same id only after the exchange confirmed it does not exist), journals the
outcome, updates the position book and tells the strategy (`on_position`) what is held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from config import Settings
from core.clock import Clock
from core.hub import ORDER, POSITION, TRADE, Event, Hub
from core.tasks import TaskOwner
from execution.brokers import Broker
from execution.errors import (
    DuplicateOrderError,
    ExchangeError,
    OrderRejectedError,
    RateLimitedError,
    TimestampError,
    classify,
)
from execution.ids import client_order_id
from execution.journal import Journal
from execution.models import (
    BrokerFill,
    OrderIntent,
    OrderOutcome,
    OrderStatus,
    Position,
    filled_outcome,
    rejected_outcome,
)
from execution.positions import PositionBook
from execution.recovery import assets_of, rebuild, reconcile
from execution.risk import RiskManager
from strategy.models import Side, SignalRaised, SignalReason

log = logging.getLogger(__name__)

PositionListener = Callable[[str, str, Decimal, Decimal | None], None]
ACTIONABLE = frozenset({"open", "close"})


@dataclass(slots=True)
class _Job:
    signal: SignalRaised
    quantity: Decimal | None = None  # manual orders; None: from settings / the position
    future: asyncio.Future[OrderOutcome] | None = field(default=None)


class OrderExecutor:
    """Turns signals into at-most-once MARKET orders through a broker (paper or testnet)."""

    def __init__(
        self,
        broker: Broker,
        journal: Journal,
        clock: Clock,
        risk: RiskManager,
        *,
        hub: Hub | None = None,
        positions: PositionBook | None = None,
        order_quantities: dict[str, Decimal] | None = None,
        order_quote_default: Decimal = Decimal("20"),
        price_of: Callable[[str], Decimal | None] | None = None,
        on_position: PositionListener | None = None,
        backoff_s: float = 0.05,
        backoff_max_s: float = 2.0,
    ) -> None:
        self.broker = broker
        self.journal = journal
        self.positions = positions or PositionBook()
        self.risk = risk
        self._clock = clock
        self._hub = hub
        self._quantities = {k.upper(): v for k, v in (order_quantities or {}).items()}
        self._quote_default = order_quote_default
        self._price_of = price_of
        self._listeners: list[PositionListener] = [on_position] if on_position else []
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._queues: dict[tuple[str, str], asyncio.Queue[_Job | None]] = {}
        self._tasks = TaskOwner("executor")
        self._workers: list[asyncio.Task[None]] = []
        self._seen: set[str] = set()  # client order ids already journaled: never again
        self._last_manual_ref = 0
        self._running = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        broker: Broker,
        journal: Journal,
        clock: Clock,
        **kwargs: object,
    ) -> OrderExecutor:
        risk = RiskManager(
            clock,
            settings.risk_max_position_quote,
            settings.risk_daily_loss_limit_quote,
            settings.risk_max_orders_per_day,
        )
        return cls(
            broker,
            journal,
            clock,
            risk,
            order_quantities=dict(settings.order_quantities),
            order_quote_default=settings.order_quote_default,
            **kwargs,  # type: ignore[arg-type]
        )

    def add_listener(self, listener: PositionListener) -> None:
        self._listeners.append(listener)

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the journal, rebuild positions from it, reconcile open intents, tell listeners."""
        await self.journal.start()
        self._seen, self._last_manual_ref = rebuild(
            self.journal, self.positions, self.risk, lambda sym: assets_of(self.broker, sym)
        )
        for outcome in await reconcile(self.journal, self.broker, self._clock):
            await self._finish(outcome)
        for pos in self.positions.all():
            self._notify(pos.variant, pos.symbol)
        self._running = True

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Finish what is queued (at most `drain_timeout_s`), then stop workers and journal."""
        self._running = False
        for q in self._queues.values():
            q.put_nowait(None)
        if self._workers:
            await asyncio.wait(self._workers, timeout=drain_timeout_s)
        await self._tasks.cancel_all()
        self._queues.clear()
        self._workers.clear()
        await self.journal.stop()

    async def wait_idle(self) -> None:
        """Until every queued order has an outcome (backtests step with it)."""
        await asyncio.gather(*(q.join() for q in self._queues.values()))

    # -- inputs ------------------------------------------------------------------------------

    def submit(self, signal: SignalRaised) -> None:
        """Queue a signal that asks for an order (action open/close); never waits."""
        if signal.action in ACTIONABLE:
            self._enqueue(_Job(signal))

    async def close_position(self, variant: str, symbol: str) -> OrderOutcome:
        """Manual exit of the whole position."""
        return await self._manual(variant, symbol, Side.SELL, None)

    async def manual_order(
        self, variant: str, symbol: str, side: Side, quantity: Decimal
    ) -> OrderOutcome:
        """A person's order: same risk checks, filters and journal as the strategy's."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        return await self._manual(variant, symbol, side, quantity)

    async def _manual(
        self, variant: str, symbol: str, side: Side, quantity: Decimal | None
    ) -> OrderOutcome:
        now = self._clock.now_ms()
        self._last_manual_ref = max(now, self._last_manual_ref + 1)
        price = self._price(symbol) or Decimal(0)
        signal = SignalRaised(
            variant,
            symbol,
            side,
            SignalReason.MANUAL,
            price,
            now,
            self._last_manual_ref,
            action="manual",
        )
        fut: asyncio.Future[OrderOutcome] = asyncio.get_running_loop().create_future()
        self._enqueue(_Job(signal, quantity, fut))
        return await fut

    def _enqueue(self, job: _Job) -> None:
        if not self._running:
            raise RuntimeError("executor is not started")
        key = (job.signal.variant, job.signal.symbol)
        q = self._queues.get(key)
        if q is None:
            q = self._queues[key] = asyncio.Queue()
            self._workers.append(self._tasks.spawn(self._work(q), f"{key[0]}:{key[1]}"))
        q.put_nowait(job)

    # -- the worker --------------------------------------------------------------------------

    async def _work(self, q: asyncio.Queue[_Job | None]) -> None:
        while True:
            job = await q.get()
            try:
                if job is None:
                    return
                await self._run_job(job)
            finally:
                q.task_done()

    async def execute(self, signal: SignalRaised) -> OrderOutcome | None:
        """Process one signal now, in the caller's task, and return its outcome (None when the
        signal asks for no order). The same code as the workers' (`_run_job`), without the
        queue: for a caller that already serialises its orders (a backtest steps one order at
        a time); not to be mixed with `submit` for the same (variant, symbol)."""
        if signal.action not in ACTIONABLE:
            return None
        if not self._running:
            raise RuntimeError("executor is not started")
        return await self._run_job(_Job(signal))

    async def _run_job(self, job: _Job) -> OrderOutcome | None:
        """One order, start to end: its outcome goes to the job's future (if any) and the
        strategy hears about the position afterwards, whatever happened."""
        try:
            outcome = await self._process(job)
            if job.future is not None and not job.future.done():
                job.future.set_result(outcome)
            return outcome
        except Exception as exc:
            log.exception("order for %s failed", job.signal)
            if job.future is not None and not job.future.done():
                job.future.set_exception(exc)
            return None
        finally:
            self._notify(job.signal.variant, job.signal.symbol)

    def _price(self, symbol: str) -> Decimal | None:
        return self._price_of(symbol) if self._price_of is not None else None

    async def _process(self, job: _Job) -> OrderOutcome:
        s = job.signal
        held = self.positions.get(s.variant, s.symbol)
        price_of = self._price_of
        price = (price_of(s.symbol) if price_of is not None else None) or (
            s.price if s.price > 0 else None
        )
        closing = False
        try:
            rules = self.broker.rules(s.symbol)
        except ExchangeError as exc:
            return await self._reject(s, Decimal(0), closing, str(exc), exc.code)
        if s.side is Side.BUY:
            qty = job.quantity or self._quantities.get(s.symbol)
            if qty is None:
                qty = self._quote_default / price if price else Decimal(0)
            qty = rules.round_qty(qty)
        else:
            qty = rules.round_qty(job.quantity if job.quantity is not None else held.qty)
            closing = job.quantity is None or qty >= rules.round_qty(held.qty)
        cid = client_order_id(s.variant, s.symbol, s.reason, s.ref, s.side)
        if cid in self._seen:
            return await self._reject(
                s, qty, closing, f"duplicate decision {cid}", None, cid, False
            )
        why: str | None = None
        if s.side is Side.SELL and (held.qty <= 0 or qty > held.qty):
            why = f"long-only: holding {held.qty}, cannot sell {qty}"
        elif s.side is Side.BUY:
            why = self.risk.check_entry(s.variant, s.symbol, qty, price, held.qty)
        if why is None:
            why = rules.check_market(qty, price)
        if why is not None:
            return await self._reject(s, qty, closing, why, None, cid)
        intent = OrderIntent(
            cid,
            s.variant,
            s.symbol,
            s.side,
            qty,
            s.reason,
            self.broker.mode,
            s.time_ms,
            s.ref,
            closing,
            self._clock.now_ms(),
            s.price,
        )
        self._seen.add(cid)
        record = intent.to_dict()
        await self._append(record)  # durable before the request
        self.risk.record_order(s.variant)
        self._publish(ORDER, record, s.symbol)
        result = await self._send(intent)
        if isinstance(result, BrokerFill):
            outcome = filled_outcome(intent, result, self._clock.now_ms())
        else:
            outcome = rejected_outcome(intent, str(result), result.code, self._clock.now_ms())
        return await self._finish(outcome)

    async def _send(self, intent: OrderIntent) -> BrokerFill | ExchangeError:
        """Send once; on an unknown outcome look the id up; resend only after -2013."""
        lookup = False
        resynced = False
        delay = self._backoff_s
        while True:
            if self.risk.ever_paused:
                await self.risk.wait_until_allowed()
            try:
                if lookup:
                    found = await self.broker.find_order(intent.symbol, intent.client_order_id)
                    if found is not None:
                        return found
                    lookup = False  # confirmed absent: the same id may be sent again
                    continue
                return await self.broker.place_market(
                    intent.symbol, intent.side, intent.quantity, intent.client_order_id
                )
            except Exception as raw:
                err = classify(raw)
            if isinstance(err, DuplicateOrderError):
                lookup = True
            elif isinstance(err, RateLimitedError):
                log.warning("rate limited: pausing %.1fs (%s)", err.retry_after_s, err)
                self.risk.pause(err.retry_after_s)
                lookup = True  # refused, but a lookup is the safe way back
            elif isinstance(err, TimestampError):
                if resynced:
                    return err
                resynced = True
                await self.broker.resync_time()
            elif isinstance(err, OrderRejectedError):
                return err
            else:  # unknown outcome (timeout, reset, 5xx): find out before anything else
                log.warning("order %s: %s; looking it up", intent.client_order_id, err)
                lookup = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max_s)

    async def _reject(
        self,
        s: SignalRaised,
        qty: Decimal,
        closing: bool,
        why: str,
        code: int | None,
        cid: str = "",
        journal: bool = True,
    ) -> OrderOutcome:
        outcome = OrderOutcome(
            status=OrderStatus.REJECTED, client_order_id=cid, variant=s.variant, symbol=s.symbol,
            side=s.side, quantity=qty, reason=s.reason, mode=self.broker.mode,
            signal_time_ms=s.time_ms, time_ms=self._clock.now_ms(), closing=closing,
            error_code=code, error=why,
        )  # fmt: skip
        log.info("order rejected before sending: %s %s %s: %s", s.variant, s.symbol, s.side, why)
        record = outcome.to_dict()
        if journal:
            await self._append(record)
        self._publish(ORDER, record, s.symbol)
        return outcome

    async def _finish(self, outcome: OrderOutcome) -> OrderOutcome:
        outcome, record = self._record(outcome)
        await self._append(record)
        return outcome

    async def _append(self, record: dict[str, object]) -> None:
        """Journal one record; a journal that is not durable (a backtest's) takes it without
        a coroutine round trip per line (`append_nowait` does the same work there)."""
        journal = self.journal
        if journal.durable:
            await journal.append(record)
        else:
            journal.append_nowait(record)

    def _record(self, outcome: OrderOutcome) -> tuple[OrderOutcome, dict[str, object]]:
        """Apply a (filled) outcome to positions and risk, publish it. Returns it with P&L,
        and its record (the journal line and the events' data: built once)."""
        position: Position | None = None
        if outcome.filled:
            rules = self.broker.rules(outcome.symbol)
            position, pnl = self.positions.apply(outcome, rules.base_asset, rules.quote_asset)
            if pnl is not None:
                outcome = outcome.with_pnl(pnl)
                self.risk.record_pnl(outcome.variant, pnl)
        data = outcome.to_dict()
        self._publish(ORDER, data, outcome.symbol)
        if position is not None:
            self._publish(TRADE, data, outcome.symbol)
            hub = self._hub
            if hub is not None and hub.wanted(POSITION):
                self._publish(POSITION, position.to_dict(), outcome.symbol)
        return outcome, data

    def _publish(self, kind: str, data: dict[str, object], symbol: str) -> None:
        hub = self._hub
        if hub is not None and hub.wanted(kind):
            hub.publish(Event(kind, data, symbol, self._clock.now_ms()))

    def _notify(self, variant: str, symbol: str) -> None:
        pos = self.positions.get(variant, symbol)
        for listener in self._listeners:
            listener(variant, symbol, pos.qty, pos.entry_price)
