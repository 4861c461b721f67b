"""The backtest books what the live executor books: each decision of a backtest on the recorded
testnet klines goes, in the same order, at the same time and price, through the live
OrderExecutor (its queue, durable journal, once-only send, PaperBroker), and every journal
record (intents, refusals, fills with their commissions, realized P&L) comes out the same.

The backtest does not run the executor: it decides with the executor's pure pieces
(`backtest.orders`). This test is what keeps the two in step."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from backtest.run import BacktestConfig, BacktestResult
from backtest.runner import candle_stream, run_streams
from backtest.sources import identify, load_klines
from config import Settings, load_settings
from core.clock import ManualClock
from execution.brokers import PaperBroker
from execution.executor import OrderExecutor
from execution.models import Mode, OrderRecord, OrderStatus
from execution.rules import SymbolRules, parse_symbol_rules
from strategy.models import Side, SignalRaised, SignalReason
from tests.ledgers import orders_in, started_ledger

DATA = "testnet-btcusdt-2026-06-15"


def _testnet_rules(binance_data: Path) -> SymbolRules:
    """The testnet's own BTCUSDT filters (LOT_SIZE step 0.00001: exits leave dust)."""
    return parse_symbol_rules(json.loads((binance_data / DATA / "symbol_info.json").read_text()))


async def _backtest(
    settings: Settings, binance_data: Path, rules: SymbolRules, minutes: int = 500
) -> BacktestResult:
    candles = load_klines(identify(binance_data / DATA / "klines_1m.json", "BTCUSDT"))[:minutes]
    config = BacktestConfig([], settings.variant_settings, Decimal("0.001"))
    return await run_streams(settings, config, [candle_stream(candles)], len(candles), (), [rules])


def _decision(rec: OrderRecord) -> SignalRaised:
    """The signal a decision record was made from (what the executor is handed)."""
    assert rec.price_hint is not None
    return SignalRaised(
        rec.variant, rec.symbol, rec.side, rec.reason, rec.price_hint, rec.signal_time_ms,
        rec.ref, action="open" if rec.side is Side.BUY else "close",
    )  # fmt: skip


async def _live(
    settings: Settings, backtest: list[OrderRecord], rules: SymbolRules, ledger_url: str
) -> list[OrderRecord]:
    """The backtest's decisions through the live executor, one at a time, each at the time
    the backtest decided it and filled at the price the backtest filled it at."""
    clock = ManualClock(0)
    price: dict[str, Decimal] = {}
    broker = PaperBroker(price.get, Decimal("0.001"), {rules.symbol: rules}, clock,
                         mode=Mode.SIMULATED.value)  # fmt: skip
    executor = OrderExecutor.from_settings(
        settings, broker, await started_ledger(ledger_url), clock, price_of=price.get
    )
    await executor.start()
    fill_price = {r.client_order_id: r.avg_price for r in backtest if r.filled}
    for rec in backtest:
        if rec.status not in (OrderStatus.INTENT, OrderStatus.REJECTED):
            continue  # outcomes: the executor makes its own
        clock.set(rec.time_ms)
        signal = _decision(rec)
        price["BTCUSDT"] = fill_price.get(rec.client_order_id) or signal.price
        executor.submit(signal)
        await executor.wait_idle()
    await executor.stop()
    again = await started_ledger(ledger_url)  # what reached the database
    await again.stop()
    return orders_in(again)


@pytest.mark.parametrize(
    ("minutes", "orders_per_day", "expected"),
    [
        # C's 0.3 % stop fires on the testnet's wicks; positions are open after 410 minutes.
        (410, 1000, {SignalReason.SIGNAL, SignalReason.STOP_LOSS, SignalReason.END_OF_DATA}),
        # 26 orders a day per variant: later entries are refused (exits are not).
        (500, 26, {SignalReason.SIGNAL, SignalReason.STOP_LOSS}),
    ],
)
async def test_the_backtest_books_every_fill_as_the_live_executor(
    binance_data: Path, ledger_url: str, minutes: int, orders_per_day: int,
    expected: set[SignalReason],
) -> None:  # fmt: skip
    settings = load_settings(
        env_file=None, variants="A:0.15,B:0.10,C:0.003", risk_max_orders_per_day=orders_per_day
    )
    rules = _testnet_rules(binance_data)
    result = await _backtest(settings, binance_data, rules, minutes)
    backtest = [r for r in result.journal if isinstance(r, OrderRecord)]
    assert {r.reason for r in backtest if r.filled} == expected
    refused = [r for r in backtest if r.status is OrderStatus.REJECTED]
    assert bool(refused) == (orders_per_day < 1000)  # refusals are compared too
    dusty = [r for r in backtest if r.filled and r.quantity % rules.step_size]
    assert not dusty  # exits sell whole steps; the BUY fee's dust stays held

    live = await _live(settings, backtest, rules, ledger_url)

    assert len(live) == len(backtest) > 100
    assert live == backtest


async def test_dust_and_pnl_of_the_parity_run_follow_from_the_fills(
    binance_data: Path, tmp_path: Path
) -> None:
    """Recomputed independently from the fills: each exit's realized P&L is its net proceeds
    minus the average cost of what it sold; a BUY pays its fee in BTC, so dust stays held."""
    settings = load_settings(env_file=None, variants="A:0.15,C:0.003")
    result = await _backtest(settings, binance_data, _testnet_rules(binance_data), 410)
    held: dict[str, tuple[Decimal, Decimal]] = {}  # variant -> (BTC held, its cost in USDT)
    exits = 0
    for rec in result.journal:
        if not isinstance(rec, OrderRecord) or not rec.filled:
            continue
        qty, cost = held.get(rec.variant, (Decimal(0), Decimal(0)))
        if rec.side is Side.BUY:
            assert rec.commission_asset == "BTC"
            held[rec.variant] = (qty + rec.executed_qty - rec.commission, cost + rec.quote_qty)
            continue
        assert rec.commission_asset == "USDT" and rec.executed_qty <= qty
        share = cost if rec.executed_qty == qty else cost * rec.executed_qty / qty
        assert rec.realized_pnl == rec.quote_qty - rec.commission - share
        held[rec.variant] = (qty - rec.executed_qty, cost - share)
        exits += 1
    assert exits > 10
    step = _testnet_rules(binance_data).step_size
    assert all(Decimal(0) < qty < step for qty, _ in held.values())  # only dust is left
