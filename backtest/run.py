"""One backtest run: the live classes on a ManualClock, and the result they add up to.

Both inputs use it: merged market streams (`backtest.runner`) and a service recording
(`backtest.replay`). It builds the service's Pipeline (aggregator, strategy engine, hub, tick
store) and its orders (`backtest.orders`), notes every closed candle for the
report, and assembles the `BacktestResult` at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aggregation.models import Candle
from backtest.fill_model import AT_CLOSE, FillModel
from backtest.metrics import PriceSeries, RoundTrip
from backtest.orders import BacktestOrders
from config import Settings, VariantSettings
from core.clock import ManualClock
from core.hub import Hub
from data_ingestion.tick_store import TickStore
from execution.accounts import VariantMoney
from execution.models import OrderRecord
from pipeline.metrics import ServiceMetrics
from pipeline.pipeline import Pipeline
from pipeline.signal_log import SignalLog
from strategy.engine import StrategyEngine
from strategy.models import SignalRaised


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    files: list[Path]
    variants: list[VariantSettings]
    fee_rate: Decimal
    symbol: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    journal_path: Path | None = None
    progress: bool = False
    capital: Decimal = Decimal("1000")  # each variant's (VARIANT_CAPITAL): returns refer to it
    hold_at_end: bool = False  # leave open positions open (else sold at the last close)
    fill: FillModel = AT_CLOSE  # at the signalling close, no slippage (the CLI: MEASURED)


@dataclass(slots=True)
class BacktestResult:
    files: list[Path]
    fee_rate: Decimal
    variants: list[VariantSettings]
    symbols: list[str] = field(default_factory=list)
    prices: dict[str, PriceSeries] = field(default_factory=dict)
    trades: dict[str, dict[str, list[RoundTrip]]] = field(default_factory=dict)
    signals: list[SignalRaised] = field(default_factory=list)
    candles_seen: list[Candle] = field(default_factory=list)
    journal: list[OrderRecord] = field(default_factory=list)
    capital: Decimal = Decimal("1000")
    # Per variant, its money (None) and each symbol's, from the run's Accounts at the end.
    money: dict[str, dict[str | None, VariantMoney]] = field(default_factory=dict)
    total: VariantMoney | None = None  # every variant's money added up (the Accounts' "all")
    fill: FillModel = AT_CLOSE
    candles: int = 0
    ticks: int = 0
    start_ms: int | None = None
    end_ms: int | None = None

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run() reprs its main task's result when it restores the
        # SIGINT handler (3.11), and the generated repr of a year of candles takes seconds.
        return (
            f"BacktestResult(symbols={self.symbols}, candles={self.candles},"
            f" ticks={self.ticks}, signals={len(self.signals)}, journal={len(self.journal)})"
        )


class BacktestRun:
    """The components of one run and what it noted; `result()` assembles the report's input."""

    def __init__(self, settings: Settings, config: BacktestConfig) -> None:
        self.config = config
        self.clock = ManualClock(0)
        self.engine = StrategyEngine(list(config.variants))
        self.signals = SignalLog(maxlen=10_000_000)
        self.orders = BacktestOrders(settings, config.fee_rate, config.journal_path, self.clock,
                                     self.engine.on_position_changed, config.fill)  # fmt: skip
        self.candles_seen: list[Candle] = []  # every closed candle, in the order it closed
        self.ticks = 0
        self.pipeline = Pipeline(
            clock=self.clock,
            hub=Hub(),
            tick_store=TickStore(settings.tick_history),
            engine=self.engine,
            metrics=ServiceMetrics(),
            signals=self.signals,
            submit=self.orders.submit,
            candle_history=settings.candle_history,
            grace_ms=int(settings.candle_close_grace_s * 1000),
            on_closed=self._closed,
        )

    def _closed(self, candle: Candle) -> None:
        """Every closed candle: noted for the report, and the orders' equity marked."""
        self.candles_seen.append(candle)
        self.orders.on_candle(candle)

    def by_symbol(self) -> dict[str, list[Candle]]:
        """The closed candles per symbol, in time order."""
        out: dict[str, list[Candle]] = {}
        for candle in self.candles_seen:
            rows = out.get(candle.symbol)
            if rows is None:
                rows = out[candle.symbol] = []
            rows.append(candle)
        return out

    def outside(self, time_ms: int) -> bool:
        """Whether `time_ms` is outside the configured --from/--to window."""
        start, end = self.config.start_ms, self.config.end_ms
        return (start is not None and time_ms < start) or (end is not None and time_ms >= end)

    @contextlib.asynccontextmanager
    async def executing(self) -> AsyncIterator[BacktestOrders]:
        """The run's orders; on a normal end what is still held is sold at the last close
        (`end_of_data`) unless `hold_at_end`; the journal file written either way."""
        try:
            yield self.orders
            if not self.config.hold_at_end:
                self.orders.close_all({s: rows[-1] for s, rows in self.by_symbol().items()})
        finally:
            await self.orders.stop()

    def result(self) -> BacktestResult:
        config = self.config
        result = BacktestResult(list(config.files), config.fee_rate, list(config.variants))
        result.candles_seen = self.candles_seen
        result.fill = config.fill
        result.capital = config.capital
        result.candles = len(self.candles_seen)
        result.ticks = self.ticks
        by_symbol = self.by_symbol()
        result.symbols = sorted(by_symbol)
        result.prices = {s: PriceSeries.of(by_symbol[s]) for s in result.symbols}
        result.signals = self.signals.query(limit=len(self.signals) or 1)
        result.trades = self.orders.round_trips(config.variants)
        result.journal = list(self.orders.records)
        accounts = self.orders.accounts
        for variant in config.variants:
            figures: dict[str | None, VariantMoney] = {None: accounts.money(variant.name)}
            for symbol in result.symbols:
                figures[symbol] = accounts.money(variant.name, symbol)
            result.money[variant.name] = figures
        result.total = accounts.total()
        if result.prices:
            result.start_ms = min(p.first_open_time for p in result.prices.values())
            result.end_ms = max(p.close_times[-1] for p in result.prices.values())
        return result
