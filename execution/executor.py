"""Signals in, orders out: sizing, risk, filters, journal-before-send, once-only resolution.

`submit(signal)` never waits: it puts the signal on the queue of its (variant, symbol); one
worker per queue serialises that pair's orders (execution.pair_workers). For each order the
worker writes the intent durably to the journal, sends it, resolves an unknown outcome by
looking the client order id up (resending the same id only after the exchange confirmed it
does not exist), journals the outcome, updates the position book and tells the strategy
(`on_position`) what is held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from aggregation.models import Candle
from config import Settings
from core.clock import MINUTE_MS, Clock
from core.hub import ORDER, POSITION, TRADE, Event, Hub
from execution.accounts import Accounts
from execution.booking import book_fill
from execution.brokers import Broker
from execution.codec import CandleNote, ExchangeReset
from execution.errors import (
    ExchangeError,
)
from execution.ledger import Ledger, LedgerUnavailableError
from execution.models import BrokerFill, OrderRecord, Position
from execution.once import OnceOnly
from execution.order_plan import ACTIONABLE, Refusal, Sizing, plan_order
from execution.pair_workers import PairWorkers
from execution.performance import RecentIds
from execution.positions import PositionBook
from execution.recovery import assets_of, reconcile
from execution.risk import RiskManager
from execution.rules import SymbolRules
from execution.stops import ExchangeStops, StopBroker
from execution.trading_state import RECENT_IDS, TradingState
from strategy.models import Side, SignalRaised, SignalReason

log = logging.getLogger(__name__)

PositionListener = Callable[[str, str, Decimal, Decimal | None], None]


@dataclass(slots=True)
class _Job:
    signal: SignalRaised
    quantity: Decimal | None = None  # manual orders; None: from settings / the position
    future: asyncio.Future[OrderRecord] | None = field(default=None)


@dataclass(slots=True)
class _StopJob:
    """Ask the exchange about a position's stop (`protect`: make it match the position)."""

    variant: str
    symbol: str
    protect: bool = False


class OrderExecutor:
    """Turns signals into at-most-once MARKET orders through a broker (paper or testnet)."""

    def __init__(
        self,
        broker: Broker,
        ledger: Ledger,
        clock: Clock,
        risk: RiskManager,
        *,
        hub: Hub | None = None,
        positions: PositionBook | None = None,
        accounts: Accounts | None = None,
        order_quantities: dict[str, Decimal] | None = None,
        order_quote_default: Decimal = Decimal("20"),
        price_of: Callable[[str], Decimal | None] | None = None,
        on_position: PositionListener | None = None,
        backoff_s: float = 0.05,
        backoff_max_s: float = 2.0,
        stop_loss_of: Callable[[str], Decimal] | None = None,
        stop_broker: StopBroker | None = None,
    ) -> None:
        """With `stop_loss_of` (STOP_MODE=exchange) every open position keeps a STOP_LOSS
        order on the exchange (execution.stops), through `stop_broker` (default: `broker`)."""
        self.broker = broker
        self.ledger = ledger
        self.positions = positions or PositionBook()
        self.accounts = accounts
        self.risk = risk
        self._clock = clock
        self._hub = hub
        self._sizing = Sizing.of(order_quantities or {}, order_quote_default)
        self._price_of = price_of
        self._listeners: list[PositionListener] = [on_position] if on_position else []
        self._fill_listeners: list[Callable[[OrderRecord], None]] = []
        self._once = OnceOnly(risk, broker.resync_time, backoff_s, backoff_max_s)
        self.stops: ExchangeStops | None = None
        if stop_loss_of is not None:
            via = stop_broker or cast(StopBroker, broker)
            self.stops = ExchangeStops(via, self._once, clock, stop_loss_of, self._keep)
        self._pairs: PairWorkers[_Job | _StopJob] = PairWorkers(self._run, "executor")
        self._seen = RecentIds(RECENT_IDS)  # client order ids already journaled: never again
        self.newest_fill: OrderRecord | None = None  # the ledger's, at start
        self._last_manual_ref = 0
        self._running = False
        # Why a variant may not open positions now (a person paused it), or None.
        self.entry_gate: Callable[[str], str | None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        broker: Broker,
        ledger: Ledger,
        clock: Clock,
        *,
        positions: PositionBook | None = None,
        price_of: Callable[[str], Decimal | None] | None = None,
        **kwargs: object,
    ) -> OrderExecutor:
        risk = RiskManager.from_settings(clock, settings)
        book = positions if positions is not None else PositionBook()
        accounts = Accounts(
            [v.name for v in settings.variant_settings], settings.variant_capital, book
        )
        return cls(
            broker,
            ledger,
            clock,
            risk,
            positions=book,
            accounts=accounts,
            price_of=price_of,
            order_quantities=dict(settings.order_quantities),
            order_quote_default=settings.order_quote_default,
            **kwargs,  # type: ignore[arg-type]
        )

    def add_listener(self, listener: PositionListener) -> None:
        self._listeners.append(listener)

    def add_fill_listener(self, listener: Callable[[OrderRecord], None]) -> None:
        """Told every fill as booked (with its realized P&L), directly: never lost."""
        self._fill_listeners.append(listener)

    # -- life --------------------------------------------------------------------------------

    async def start(self, reconcile_stops: bool = True) -> TradingState:
        """Open the ledger, load positions, risk counters, money and stops from its trading
        state (execution.trading_state), reconcile open intents (and, unless the caller does
        it later with `reconcile_stops()`, the stops), tell listeners. Returns the state (the
        service loads its controls and round trips from it too)."""
        await self.ledger.start()
        state = await self.ledger.trading_state(self.new_state)
        self.positions.restore(state.book.snapshot())
        self.risk.daily.restore(state.daily.snapshot())
        if self.accounts is not None:
            self.accounts.restore(state.accounts.snapshot())
        self._seen = RecentIds(RECENT_IDS, state.ids.snapshot())
        self._last_manual_ref = state.last_manual_ref
        self.newest_fill = state.newest_fill
        if self.stops is not None:
            self.stops.restore(state.stops)
        for outcome in await reconcile(list(state.open_intents.values()), self.broker, self._clock):
            await self._finish(outcome)
        if reconcile_stops:
            await self.reconcile_stops()
        for pos in self.positions.all():
            self._notify(pos.variant, pos.symbol)
        self._running = True
        return state

    def new_state(self) -> TradingState:
        """An empty trading state of this executor's variants, capital and lot rules."""
        variants = self.accounts.variants if self.accounts is not None else []
        capital = self.accounts.capital if self.accounts is not None else Decimal(0)
        return TradingState(variants, capital, self._lot)

    async def reconcile_stops(self) -> None:
        """Stops against the exchange (execution.stops.ExchangeStops.reconcile)."""
        if self.stops is not None:
            await self.stops.reconcile(self.positions.all)
            for pos in self.positions.all():
                self._notify(pos.variant, pos.symbol)

    async def end_positions_by_reset(self, detail: str) -> list[Position]:
        """The exchange was wiped: record it, and forget what the ledger said was held."""
        ended = [p for p in self.positions.all() if p.held_qty > 0]
        await self.ledger.append(ExchangeReset(self._clock.now_ms(), detail))
        for pos in self.positions.all():
            self.positions.clear(pos.variant, pos.symbol)
        if self.accounts is not None:
            self.accounts.on_reset()
        if self.stops is not None:
            self.stops.forget_all()  # the wiped exchange has none of them
        for pos in ended:
            self._notify(pos.variant, pos.symbol)
            self._publish(POSITION, self.positions.get(pos.variant, pos.symbol), pos.symbol)
        return ended

    def on_candle(self, candle: Candle) -> None:
        """A 1-minute candle the pipeline closed: into the ledger (the chart's history, and the
        replay that marks the same figures after a restart), and the variants' equity marked
        at its close (an incomplete candle's close may be wrong: kept, never marked at)."""
        if candle.interval_ms != MINUTE_MS:
            return
        try:
            self.ledger.append_nowait(CandleNote(candle))
        except (RuntimeError, LedgerUnavailableError) as exc:  # not started, or unwritable
            log.debug("candle %s %d not in the ledger: %s", candle.symbol, candle.open_time, exc)
            return
        if candle.complete and self.accounts is not None:
            self.accounts.on_close(candle.symbol, candle.close_time, candle.close)

    def capital_shortfall(self, variant: str) -> str | None:
        """Why `variant`'s cash cannot pay even its smallest configured entry, or None."""
        if self.accounts is None:
            return None
        costs = [
            qty * price
            for symbol, qty in self._sizing.quantities.items()
            if (price := self._price(symbol)) is not None
        ]
        smallest = min(costs, default=self._sizing.quote_default)
        return self.accounts.can_spend(variant, smallest)

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Finish what is queued (at most `drain_timeout_s`), then stop workers and the ledger."""
        self._running = False
        await self._pairs.stop(drain_timeout_s)
        await self.ledger.stop()

    async def wait_idle(self) -> None:
        """Until every queued order has an outcome."""
        await self._pairs.wait_idle()

    # -- inputs ------------------------------------------------------------------------------

    def submit(self, signal: SignalRaised) -> None:
        """Queue a signal that asks for an order (action open/close); never waits. The
        service's own stop is only a backstop while a stop rests on the exchange for it."""
        if signal.action not in ACTIONABLE:
            return
        stops = self.stops
        if (
            stops is not None
            and signal.reason is SignalReason.STOP_LOSS
            and stops.live(signal.variant, signal.symbol) is not None
        ):
            self.check_stop(signal.variant, signal.symbol)  # it has probably filled: ask
            return
        self._enqueue(_Job(signal))

    async def close_position(self, variant: str, symbol: str) -> OrderRecord:
        """Manual exit of the whole position."""
        return await self._manual(variant, symbol, Side.SELL, None)

    async def manual_order(
        self, variant: str, symbol: str, side: Side, quantity: Decimal
    ) -> OrderRecord:
        """A person's order: same risk checks, filters and journal as the strategy's."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        return await self._manual(variant, symbol, side, quantity)

    async def _manual(
        self, variant: str, symbol: str, side: Side, quantity: Decimal | None
    ) -> OrderRecord:
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
        fut: asyncio.Future[OrderRecord] = asyncio.get_running_loop().create_future()
        self._enqueue(_Job(signal, quantity, fut))
        return await fut

    def check_stop(self, variant: str, symbol: str, protect: bool = False) -> None:
        """Ask the exchange about the position's stop in its worker (a user-data event, the
        polling fallback); `protect`: place or replace it to match the position (a changed
        stop-loss)."""
        if self.stops is not None and self._running:
            self._enqueue(_StopJob(variant, symbol, protect))

    def _enqueue(self, job: _Job | _StopJob) -> None:
        if not self._running:
            raise RuntimeError("executor is not started")
        key = (
            (job.variant, job.symbol)
            if isinstance(job, _StopJob)
            else (job.signal.variant, job.signal.symbol)
        )
        self._pairs.put(key, job)

    # -- the worker --------------------------------------------------------------------------

    async def _run(self, job: _Job | _StopJob) -> None:
        """One job in its pair's worker (execution.pair_workers)."""
        if isinstance(job, _StopJob):
            await self._run_stop_job(job)
        else:
            await self._run_job(job)

    async def _run_stop_job(self, job: _StopJob) -> None:
        assert self.stops is not None
        try:
            if job.protect:
                await self.stops.protect(self.positions.get(job.variant, job.symbol))
            else:
                await self.stops.check(job.variant, job.symbol)
        except Exception:
            log.exception("stop of %s %s", job.variant, job.symbol)
        finally:
            self._notify(job.variant, job.symbol)

    async def _run_job(self, job: _Job) -> OrderRecord | None:
        """One order, start to end: its outcome goes to the job's future (if any) and the
        strategy hears about the position afterwards, whatever happened."""
        try:
            outcome = await self._exit_by_stop(job) or await self._process(job)
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

    async def _exit_by_stop(self, job: _Job) -> OrderRecord | None:
        """With stops on the exchange, an exit first cancels the position's stop. When the
        exchange says the stop had already sold, that was the exit: no second sale."""
        s = job.signal
        if self.stops is None or s.side is not Side.SELL:
            return None
        released = await self.stops.release(s.variant, s.symbol)
        if released is not None and released.filled and job.quantity is None:
            return released
        return None

    def _price(self, symbol: str) -> Decimal | None:
        return self._price_of(symbol) if self._price_of is not None else None

    async def _process(self, job: _Job) -> OrderRecord:
        s = job.signal
        try:
            rules: SymbolRules | ExchangeError = self.broker.rules(s.symbol)
        except ExchangeError as exc:
            rules = exc
        gate = self.entry_gate
        plan = plan_order(
            s,
            requested=job.quantity,
            held=self.positions.get(s.variant, s.symbol),
            rules=rules,
            price=self._price(s.symbol) or (s.price if s.price > 0 else None),
            sizing=self._sizing,
            seen=self._seen,
            paused=gate(s.variant) if gate is not None and s.side is Side.BUY else None,
            risk=self.risk,
            accounts=self.accounts,
            mode=self.broker.mode,
            now_ms=self._clock.now_ms(),
        )
        if isinstance(plan, Refusal):
            return await self._reject(plan)
        intent = plan
        self._seen.add(intent.client_order_id)
        await self.ledger.append(intent)  # durable before the request
        self.risk.record_order(s.variant)
        self._publish(ORDER, intent, s.symbol)
        result = await self._send(intent)
        now = self._clock.now_ms()
        if isinstance(result, BrokerFill):
            outcome = intent.filled_by(result, now)
        else:
            log.warning("order %s rejected by the exchange: %s", intent.client_order_id, result)
            outcome = intent.refused(str(result), result.code, now)
        return await self._finish(outcome)

    async def _send(self, intent: OrderRecord) -> BrokerFill | ExchangeError:
        """Send once; an unknown outcome is looked up by its id (execution.once)."""
        broker, symbol, cid = self.broker, intent.symbol, intent.client_order_id
        return await self._once.send(
            cid,
            lambda: broker.place_market(symbol, intent.side, intent.quantity, cid),
            lambda: broker.find_order(symbol, cid),
        )

    async def _reject(self, refusal: Refusal) -> OrderRecord:
        outcome = refusal.record
        log.info(
            "order refused before sending: %s %s %s: %s",
            outcome.variant, outcome.symbol, outcome.side, outcome.error,
        )  # fmt: skip
        if refusal.journaled:
            await self.ledger.append(outcome)
        self._publish(ORDER, outcome, outcome.symbol)
        return outcome

    async def _finish(self, outcome: OrderRecord) -> OrderRecord:
        outcome = self._record(outcome)
        await self.ledger.append(outcome)
        if self.stops is not None and outcome.filled and outcome.order_type == "MARKET":
            position = self.positions.get(outcome.variant, outcome.symbol)
            try:
                await self.stops.protect(position, outcome)
            except Exception:
                log.exception("placing the stop of %s %s", outcome.variant, outcome.symbol)
        return outcome

    async def _keep(self, rec: OrderRecord) -> OrderRecord:
        """Journal and publish a stop's record (a fill also moves the position)."""
        if rec.filled:
            return await self._finish(rec)
        await self.ledger.append(rec)
        self._publish(ORDER, rec, rec.symbol)
        return rec

    def _record(self, outcome: OrderRecord) -> OrderRecord:
        """Book a (filled) outcome (execution.booking), publish it; returns it with P&L."""
        position: Position | None = None
        if outcome.filled:
            lot = self._lot(outcome.symbol)
            outcome, position = book_fill(outcome, self.positions, lot, self.risk)
            if self.accounts is not None:
                self.accounts.on_fill(outcome)
            for listener in self._fill_listeners:
                listener(outcome)
        self._publish(ORDER, outcome, outcome.symbol)
        if position is not None:
            self._publish(TRADE, outcome, outcome.symbol)
            self._publish(POSITION, position, outcome.symbol)
        return outcome

    def lot(self, symbol: str) -> tuple[str, str, Decimal | None]:
        """(base asset, quote asset, LOT_SIZE step) of `symbol`, as far as known."""
        return self._lot(symbol)

    def _lot(self, symbol: str) -> tuple[str, str, Decimal | None]:
        """(base asset, quote asset, LOT_SIZE step) of `symbol`, as far as known."""
        try:
            rules = self.broker.rules(symbol)
        except ExchangeError:
            base, quote = assets_of(self.broker, symbol)
            return base, quote, None
        return rules.base_asset, rules.quote_asset, rules.step_size

    def _publish(self, kind: str, data: OrderRecord | Position, symbol: str) -> None:
        hub = self._hub
        if hub is not None and hub.wanted(kind):
            hub.publish(Event(kind, data, symbol, self._clock.now_ms()))

    def _notify(self, variant: str, symbol: str) -> None:
        pos = self.positions.get(variant, symbol)
        for listener in self._listeners:
            listener(variant, symbol, pos.qty, pos.entry_price)
