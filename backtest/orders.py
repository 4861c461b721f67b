"""The orders of one backtest: the live executor's decisions and bookings, one at a time.

Each signal is decided by `execution.order_plan.plan_order` (sizing, long-only, risk, cash,
the exchange's filters: what the live executor decides with), filled whole by
`execution.brokers.paper_fill` at the fill model's price (the PaperBroker's fill), and booked
by `execution.booking.book_fill` (positions, P&L, the day's risk figures, equity marks). The
fill-model price is the signal's own price: the candle close for a crossover, the trade price
or stop level for a stop, the last close at the end of the data; a replay sets the recorded
fill's. Nothing is sent anywhere, so there is no queue and no once-only loop: the run finishes
each order before it reads the next event, and the journal is the list of records, written
as journal lines (`execution.journal.write_lines`) when the run stops.
`tests/backtest/test_order_parity.py` runs the same signals through the live OrderExecutor
and compares every record.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from aggregation.models import Candle
from backtest.fill_model import AT_CLOSE, FillModel
from config import Settings, VariantSettings
from core.clock import ManualClock
from core.symbols import split_symbol
from execution.accounts import Accounts
from execution.booking import book_fill
from execution.brokers import paper_fill
from execution.codec import Entry
from execution.errors import ExchangeError
from execution.executor import PositionListener
from execution.journal import write_lines
from execution.models import Mode, OrderRecord, OrderStatus
from execution.order_plan import ACTIONABLE, Refusal, Sizing, plan_order
from execution.performance import RoundTrip, fee_in_quote, round_trips
from execution.positions import PositionBook
from execution.risk import RiskManager
from execution.rules import SymbolRules
from strategy.engine import ACTION_CLOSE
from strategy.models import Side, SignalRaised, SignalReason

MODE = Mode.SIMULATED.value

# No exchangeInfo with kline or trade files: every symbol gets a permissive rule set: LOT_SIZE
# step and minQty 0.00000001 (Binance's finest), so the BUY's base-asset fee leaves no unsellable
# dust and a round trip's P&L is the price move minus the fees; NOTIONAL min 5 applied to market
# orders as on the Spot Testnet; 8-digit commissions.


def default_rules(symbol: str) -> SymbolRules:
    base, quote = split_symbol(symbol) or (symbol, "USDT")
    return SymbolRules(
        symbol=symbol,
        base_asset=base,
        quote_asset=quote,
        tick_size=Decimal("0.01"),
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        step_size=Decimal("0.00000001"),
        min_qty=Decimal("0.00000001"),
        max_qty=Decimal("9000000000"),
        min_notional=Decimal("5"),
        min_notional_applies_to_market=True,
    )


class BacktestOrders:
    """Decides, fills and books the orders of one backtest run, oldest signal first."""

    def __init__(
        self, settings: Settings, fee_rate: Decimal, journal_path: Path | None, clock: ManualClock,
        on_position: PositionListener, fill: FillModel = AT_CLOSE,
    ) -> None:  # fmt: skip
        self.journal_path = journal_path
        self.fill = fill
        self._clock = clock
        self._fee_rate = fee_rate
        self._price: dict[str, Decimal] = {}  # the fill-model price of the order being run
        self._rules: dict[str, SymbolRules] = {}
        self._pending: list[SignalRaised] = []
        self._listeners: list[PositionListener] = [on_position]
        self._seen: set[str] = set()
        self._next_order_id = 1
        self.records: list[OrderRecord] = []
        self.positions = PositionBook()
        self.risk = RiskManager.from_settings(clock, settings)
        # Every mark kept (no thinning): the report's curves and Sharpe read them.
        self.accounts = Accounts(
            [v.name for v in settings.variant_settings], settings.variant_capital,
            self.positions, max_points=None,
        )  # fmt: skip
        self._sizing = Sizing.of(settings.order_quantities, settings.order_quote_default)

    def set_rules(self, rules: SymbolRules) -> None:
        self._rules[rules.symbol] = rules

    def add_listener(self, listener: PositionListener) -> None:
        """Told what (variant, symbol) holds after each order, as the executor's listeners."""
        self._listeners.append(listener)

    async def stop(self) -> None:
        """Write the journal file, if one was asked for (off the event loop)."""
        if self.journal_path is not None:
            entries: list[Entry] = list(self.records)
            await asyncio.to_thread(write_lines, self.journal_path, entries)

    # -- orders -------------------------------------------------------------------------

    def submit(self, signal: SignalRaised) -> None:
        """The pipeline's `submit`: queue here, run after the current event (run_pending)."""
        self._pending.append(signal)

    @property
    def pending(self) -> list[SignalRaised]:
        """The signals waiting for `run_pending` (the list itself: the run loop checks it for
        every event, so it is emptied in place and never replaced)."""
        return self._pending

    def run_pending(self) -> None:
        """Run the waiting signals, oldest first, each filled at its own price (the fill
        model's slippage added)."""
        price = self.fill.price
        while self._pending:
            signal = self._pending.pop(0)
            self.run(signal, price(signal.side, signal.price))

    def run_at(self, signals: list[SignalRaised], reference: Decimal) -> None:
        """Run `signals` (oldest first) filled at `reference` (the next candle's open) with
        the fill model's slippage."""
        for signal in signals:
            self.run(signal, self.fill.price(signal.side, reference))

    def run(
        self, signal: SignalRaised, price: Decimal | None, commission: Decimal | None = None
    ) -> OrderRecord | None:
        """Run one signal now, filled at `price` (None: no price, the fill is refused as the
        paper broker refuses it), paying `commission` when the exchange's is known (a replay:
        the exchange cuts it per fill, so its sum is not the fee of the average); None when
        the signal asks for no order."""
        if signal.action not in ACTIONABLE:
            return None
        s = signal
        rules = self._rules.get(s.symbol)
        if rules is None:
            rules = self._rules[s.symbol] = default_rules(s.symbol)
        if price is None:
            self._price.pop(s.symbol, None)
        else:
            self._price[s.symbol] = price
        now = self._clock.now_ms()
        plan = plan_order(
            s, requested=None, held=self.positions.get(s.variant, s.symbol), rules=rules,
            price=price or (s.price if s.price > 0 else None), sizing=self._sizing,
            seen=self._seen, paused=None, risk=self.risk, accounts=self.accounts, mode=MODE,
            now_ms=now,
        )  # fmt: skip
        if isinstance(plan, Refusal):
            outcome = plan.record
            if plan.journaled:
                self.records.append(outcome)
        else:
            outcome = self._fill(plan, rules, price, now, commission)
        self._notify(s.variant, s.symbol)
        return outcome

    def _fill(
        self, intent: OrderRecord, rules: SymbolRules, price: Decimal | None, now: int,
        commission: Decimal | None = None,
    ) -> OrderRecord:  # fmt: skip
        self._seen.add(intent.client_order_id)
        self.records.append(intent)
        self.risk.record_order(intent.variant)
        try:
            fill = paper_fill(
                rules, intent.side, intent.quantity, price, self._fee_rate, self._next_order_id,
                intent.client_order_id, now,
            )  # fmt: skip
        except ExchangeError as exc:
            outcome = intent.refused(str(exc), exc.code, now)
        else:
            self._next_order_id += 1
            if commission is not None:
                fill = replace(fill, commission=commission)
            lot = (rules.base_asset, rules.quote_asset, rules.step_size)
            outcome, _ = book_fill(intent.filled_by(fill, now), self.positions, lot, self.risk)
            self.accounts.on_fill(outcome)
        self.records.append(outcome)
        return outcome

    def _notify(self, variant: str, symbol: str) -> None:
        pos = self.positions.get(variant, symbol)
        for listener in self._listeners:
            listener(variant, symbol, pos.qty, pos.entry_price)

    def take(self, variant: str, symbol: str) -> SignalRaised | None:
        """The oldest waiting signal of (variant, symbol), taken out of the queue."""
        for n, signal in enumerate(self._pending):
            if signal.variant == variant and signal.symbol == symbol:
                return self._pending.pop(n)
        return None

    def drop_pending(self) -> list[SignalRaised]:
        """Every waiting signal, taken out of the queue (emptied in place)."""
        dropped = list(self._pending)
        self._pending.clear()
        return dropped

    def on_candle(self, candle: Candle) -> None:
        """A closed candle: the variants' equity marked at its close, as the executor does."""
        if candle.complete:
            self.accounts.on_close(candle.symbol, candle.close_time, candle.close)

    def close_all(self, last: dict[str, Candle]) -> None:
        """Sell what is still held at the last close of its symbol (reason end_of_data)."""
        for position in self.positions.open():
            candle = last.get(position.symbol)
            if candle is None:
                continue
            self._clock.set(candle.close_time)
            self.run(
                SignalRaised(
                    variant=position.variant,
                    symbol=position.symbol,
                    side=Side.SELL,
                    reason=SignalReason.END_OF_DATA,
                    price=candle.close,
                    time_ms=candle.close_time,
                    ref=candle.open_time,
                    action=ACTION_CLOSE,
                ),
                candle.close,  # a valuation at the last close: no slippage
            )

    # -- results ------------------------------------------------------------------------

    def round_trips(self, variants: list[VariantSettings]) -> dict[str, dict[str, list[RoundTrip]]]:
        """Round trips per (variant, symbol) from the fills (execution.performance, the same
        pairing as the live `GET /performance`)."""
        out: dict[str, dict[str, list[RoundTrip]]] = {v.name: {} for v in variants}
        fills = [r for r in self.records if r.status is OrderStatus.FILLED]
        bases = {symbol: rules.base_asset for symbol, rules in self._rules.items()}
        trips = round_trips(fills, fee_in_quote(bases.get))
        for (variant, symbol), closed in trips.closed.items():
            out.setdefault(variant, {})[symbol] = closed
        return out
