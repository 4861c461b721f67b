"""The live execution stack for a backtest: OrderExecutor + PaperBroker + PositionBook +
Journal + risk, on the run's ManualClock, with the fill model's price for each order.

Orders run one at a time: a signal is handed to the executor with the paper broker's market
price set to the fill-model price (the signal's own price: the candle close for a crossover,
the trade price or stop level for a stop, the last close at the end of the data), and the run
awaits its outcome (`OrderExecutor.execute`: the workers' code, without the queue) before it
reads the next event. The journal is the live class with `durable=False`: records in memory,
lines written to `journal_path` (if given) in large batches off the loop.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from aggregation.models import Candle
from config import Settings, VariantSettings
from core.clock import ManualClock
from core.hub import Hub
from core.symbols import split_symbol
from execution.brokers import PaperBroker
from execution.executor import OrderExecutor
from execution.journal import Journal
from execution.models import Mode, OrderRecord
from execution.performance import RoundTrip, fee_in_quote, round_trips
from execution.positions import PositionBook
from execution.rules import SymbolRules
from strategy.engine import ACTION_CLOSE, StrategyEngine
from strategy.models import Side, SignalRaised, SignalReason

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


class ExecutionBridge:
    """Owns the executor of one backtest run and feeds it one order at a time."""

    def __init__(
        self, settings: Settings, fee_rate: Decimal, journal_path: Path | None, clock: ManualClock,
        engine: StrategyEngine,
    ) -> None:  # fmt: skip
        if journal_path is not None and journal_path.exists():
            journal_path.unlink()  # a backtest's journal starts empty (no positions rebuilt)
        self.journal_path = journal_path
        self._clock = clock
        self._price: dict[str, Decimal] = {}
        self._rules: dict[str, SymbolRules] = {}
        self._pending: list[SignalRaised] = []
        self.journal = Journal(journal_path, durable=False)
        self.positions = PositionBook()
        self.broker = PaperBroker(
            self._price.get, fee_rate, {}, clock=clock, mode=Mode.SIMULATED.value
        )
        self.executor = OrderExecutor.from_settings(
            settings,
            self.broker,
            self.journal,
            clock,
            hub=Hub(),
            positions=self.positions,
            price_of=self._price.get,
            on_position=engine.on_position_changed,
        )

    def set_rules(self, rules: SymbolRules) -> None:
        self._rules[rules.symbol] = rules
        self.broker.set_rules(rules)

    async def start(self) -> None:
        await self.executor.start()  # opens the journal

    async def stop(self) -> None:
        await self.executor.stop()  # drains, then closes the journal

    # -- orders -------------------------------------------------------------------------

    def submit(self, signal: SignalRaised) -> None:
        """The pipeline's `submit`: queue here, run after the current event (run_pending)."""
        self._pending.append(signal)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    @property
    def pending(self) -> list[SignalRaised]:
        """The signals waiting for `run_pending` (the list itself: the run loop checks it for
        every event, so it is emptied in place and never replaced)."""
        return self._pending

    async def run_pending(self) -> None:
        """Run the waiting signals, oldest first, each filled at its own price."""
        while self._pending:
            signal = self._pending.pop(0)
            await self.run(signal, signal.price)

    async def run(self, signal: SignalRaised, price: Decimal | None) -> None:
        """Run one signal now with the paper broker's market price at `price` (None: no
        price, the broker refuses the order)."""
        if signal.symbol not in self._rules:
            self.set_rules(default_rules(signal.symbol))
        if price is None:
            self._price.pop(signal.symbol, None)
        else:
            self._price[signal.symbol] = price
        await self.executor.execute(signal)

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

    async def close_all(self, last: dict[str, Candle]) -> None:
        """Sell what is still held at the last close of its symbol (reason end_of_data)."""
        for position in self.positions.open():
            candle = last.get(position.symbol)
            if candle is None:
                continue
            self._clock.set(candle.close_time)
            self.submit(
                SignalRaised(
                    variant=position.variant,
                    symbol=position.symbol,
                    side=Side.SELL,
                    reason=SignalReason.END_OF_DATA,
                    price=candle.close,
                    time_ms=candle.close_time,
                    ref=candle.open_time,
                    action=ACTION_CLOSE,
                )
            )
        await self.run_pending()

    # -- results ------------------------------------------------------------------------

    def journal_records(self) -> list[OrderRecord]:
        return self.journal.orders()

    def round_trips(self, variants: list[VariantSettings]) -> dict[str, dict[str, list[RoundTrip]]]:
        """Round trips per (variant, symbol) from the journal's fills (execution.performance,
        the same pairing as the live `GET /performance`)."""
        out: dict[str, dict[str, list[RoundTrip]]] = {v.name: {} for v in variants}
        trips = round_trips(self.journal.trades(), fee_in_quote(self._base_asset))
        for (variant, symbol), closed in trips.closed.items():
            out.setdefault(variant, {})[symbol] = closed
        return out

    def _base_asset(self, symbol: str) -> str:
        return (self._rules.get(symbol) or default_rules(symbol)).base_asset
