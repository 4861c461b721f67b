"""The executor with the paper broker: fills, commissions, risk, journal, restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from config import VariantSettings
from core.clock import ManualClock
from core.hub import ORDER, POSITION, TRADE, Hub
from data_ingestion.models import Tick
from execution.brokers import PaperBroker
from execution.executor import OrderExecutor
from execution.models import BrokerFill
from execution.rules import SymbolRules
from strategy.engine import StrategyEngine
from strategy.models import Side, SignalRaised, SignalReason
from tests.execution.conftest import T0, make_risk
from tests.ledgers import (
    fills_in,
    ledger_lines,
    open_intents_in,
    sqlite_url,
    started_ledger,
    write_as_crashed,
)

VARIANTS = [
    VariantSettings("A", Decimal("0.15"), 5, 10),
    VariantSettings("B", Decimal("0.10"), 5, 10),
]


class Market:
    def __init__(self, price: str) -> None:
        self.price: Decimal | None = Decimal(price)

    def __call__(self, symbol: str) -> Decimal | None:
        return self.price


def signal(side: Side, ref: int, variant: str = "A", action: str = "open") -> SignalRaised:
    return SignalRaised(
        variant, "BTCUSDT", side, SignalReason.SIGNAL, Decimal("60000"), T0 + ref, ref,
        action=action,
    )  # fmt: skip


def lines(folder: Path) -> list[dict[str, object]]:
    return ledger_lines(sqlite_url(folder))


async def make(
    tmp_path: Path, clock: ManualClock, rules: SymbolRules, market: Market,
    quantities: dict[str, Decimal] | None = None, quote_default: Decimal = Decimal("20"),
    **risk: object,
) -> tuple[OrderExecutor, StrategyEngine, PaperBroker, Hub]:  # fmt: skip
    hub = Hub()
    engine = StrategyEngine(VARIANTS, symbols=["BTCUSDT"])
    broker = PaperBroker(market, Decimal("0.001"), {"BTCUSDT": rules}, clock)
    executor = OrderExecutor(
        broker, await started_ledger(sqlite_url(tmp_path)), clock, make_risk(clock, **risk),
        hub=hub,
        order_quantities={"BTCUSDT": Decimal("0.001")} if quantities is None else quantities,
        order_quote_default=quote_default, price_of=market,
        on_position=engine.on_position_changed,
    )  # fmt: skip
    await executor.start()
    return executor, engine, broker, hub


async def test_buy_then_sell_fills_with_binance_commission_conventions(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    market = Market("60000")
    executor, engine, _, hub = await make(tmp_path, clock, btc_rules, market)
    sub = hub.subscribe()
    executor.submit(signal(Side.BUY, 1))
    await executor.wait_idle()
    pos = executor.positions.get("A", "BTCUSDT")
    assert pos.held_qty == Decimal("0.000999")  # 0.001 minus 0.000001 BTC commission
    assert pos.qty == Decimal("0.00099")  # sellable: on the 0.00001 LOT_SIZE step
    assert pos.dust == Decimal("0.000009")
    assert pos.entry_price == Decimal("60000") and pos.cost_quote == Decimal("60")
    # The strategy heard it: its stop for A is 15 % under the actual fill price.
    assert engine.snapshot()["symbols"]["BTCUSDT"]["A"]["stop_price"] == "51000.00"

    market.price = Decimal("66000")
    executor.submit(signal(Side.SELL, 2, action="close"))
    await executor.wait_idle()
    pos = executor.positions.get("A", "BTCUSDT")
    assert pos.qty == 0 and pos.dust == pos.held_qty == Decimal("0.000009")  # below a step
    # Sold 0.00099 at 66000 = 65.34, commission 0.06534 USDT. What was sold cost its share of
    # the 60 spent; the dust keeps the rest of the cost and is valued at market, not lost.
    sold_cost = Decimal("60") * Decimal("0.00099") / Decimal("0.000999")
    assert pos.realized_pnl == Decimal("65.34") - Decimal("0.06534") - sold_cost
    assert pos.unrealized_pnl(Decimal("66000")) == Decimal("0.000009") * 66000 - (60 - sold_cost)
    # Realized + unrealized is the mark-to-market result of the fills: received − spent + held.
    mtm = (Decimal("65.34") - Decimal("0.06534")) - Decimal("60") + Decimal("0.000009") * 66000
    total = pos.realized_pnl + (pos.unrealized_pnl(Decimal("66000")) or 0)
    assert abs(total - mtm) < Decimal("1e-20")
    await executor.stop()

    recs = lines(tmp_path)
    assert [r["type"] for r in recs] == ["intent", "filled", "intent", "filled"]
    buy, sell = recs[1], recs[3]
    assert (buy["commission"], buy["commission_asset"]) == ("0.00000100", "BTC")
    assert (sell["commission"], sell["commission_asset"]) == ("0.06534000", "USDT")
    assert sell["quantity"] == "0.00099" and sell["realized_pnl"] == str(pos.realized_pnl)
    assert buy["mode"] == "paper" and buy["reason"] == "signal"
    assert recs[0]["client_order_id"] == buy["client_order_id"] == "A-BTCUSDT-sB-1"
    kinds = []
    while not sub.queue.empty():
        kinds.append(sub.queue.get_nowait().kind)
    assert kinds.count(TRADE) == 2 and kinds.count(POSITION) == 2 and kinds.count(ORDER) == 4


async def test_below_minimum_is_rejected_without_a_request(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    market = Market("60000")
    # 4 quote → 0.00006 BTC = 3.6 < NOTIONAL 5
    executor, _, broker, _ = await make(tmp_path, clock, btc_rules, market, {}, Decimal("4"))
    engine_signals = signal(Side.BUY, 3)
    executor.submit(engine_signals)
    await executor.wait_idle()
    recs = lines(tmp_path)
    assert [r["type"] for r in recs] == ["rejected"]
    assert str(recs[0]["error"]).startswith("NOTIONAL") and recs[0]["quantity"] == "0.00006"
    assert broker._next_id == 1  # nothing was sent
    await executor.stop()


async def test_daily_loss_limit_halts_entries_but_not_exits(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    market = Market("60000")
    executor, _, _, _ = await make(
        tmp_path, clock, btc_rules, market, daily_loss_limit_quote=Decimal("5")
    )
    executor.submit(signal(Side.BUY, 1))
    executor.submit(signal(Side.BUY, 1, variant="B"))
    await executor.wait_idle()
    market.price = Decimal("50000")  # A loses ~10 quote on its exit
    executor.submit(signal(Side.SELL, 2, action="close"))
    await executor.wait_idle()
    assert executor.positions.get("A", "BTCUSDT").realized_pnl < -5
    executor.submit(signal(Side.BUY, 3))  # A: halted
    executor.submit(signal(Side.SELL, 3, variant="B", action="close"))  # exit still allowed
    await executor.wait_idle()
    recs = lines(tmp_path)
    rejected = [r for r in recs if r["type"] == "rejected"]
    assert len(rejected) == 1 and "daily loss limit" in str(rejected[0]["error"])
    assert executor.positions.get("B", "BTCUSDT").qty == 0
    # The next UTC day the limit is lifted.
    clock.advance(86_400_000)
    executor.submit(signal(Side.BUY, 4))
    await executor.wait_idle()
    assert executor.positions.get("A", "BTCUSDT").qty > 0
    await executor.stop()


async def test_max_orders_per_day_and_max_position(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    market = Market("60000")
    executor, _, _, _ = await make(
        tmp_path, clock, btc_rules, market, max_orders_per_day=2,
        max_position_quote=Decimal("100"),
    )  # fmt: skip
    out = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.002"))
    assert out.status.value == "rejected" and "max position" in str(out.error)
    assert (await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))).filled
    assert (await executor.close_position("A", "BTCUSDT")).filled
    out = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
    assert "max orders per day" in str(out.error)
    out = await executor.close_position("A", "BTCUSDT")  # nothing held: nothing happens
    assert out.status.value == "rejected" and out.error == "A holds no BTCUSDT position to close"
    await executor.stop()


async def test_same_decision_never_becomes_two_orders(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    market = Market("60000")
    executor, _, broker, _ = await make(tmp_path, clock, btc_rules, market)
    executor.submit(signal(Side.BUY, 1))
    await executor.wait_idle()
    executor.submit(signal(Side.BUY, 1))  # the same candle again (e.g. replayed)
    await executor.wait_idle()
    await executor.stop()
    assert broker._next_id == 2
    # After a restart too: the id is known from the journal.
    executor2, _, broker2, _ = await make(tmp_path, clock, btc_rules, market)
    executor2.submit(signal(Side.BUY, 1))
    await executor2.wait_idle()
    assert broker2._next_id == 1
    await executor2.stop()


async def test_restart_rebuilds_positions_and_abandons_paper_intents(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    market = Market("60000")
    executor, _, _, _ = await make(tmp_path, clock, btc_rules, market)
    executor.submit(signal(Side.BUY, 1))
    executor.submit(signal(Side.BUY, 1, variant="B"))
    await executor.wait_idle()
    before = {(p.variant, p.symbol): p for p in executor.positions.all()}
    await executor.stop()
    # A crash between an intent and its outcome: the intent's line is there, nothing after.
    path = tmp_path
    write_as_crashed(sqlite_url(tmp_path), {"type": "intent", "client_order_id": "B-BTCUSDT-sS-2",
            "variant": "B", "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.00099",
            "reason": "signal", "mode": "paper", "signal_time": T0, "ref": 2,
            "closing": True, "time": T0})  # fmt: skip
    executor2, engine2, _, _ = await make(tmp_path, clock, btc_rules, market)
    assert {(p.variant, p.symbol): p for p in executor2.positions.all()} == before
    assert lines(path)[-1]["type"] == "abandoned"
    assert open_intents_in(executor2.ledger) == []
    snap = engine2.snapshot()["symbols"]["BTCUSDT"]
    assert Decimal(snap["B"]["position_qty"]) == Decimal("0.00099")  # sellable
    assert Decimal(snap["B"]["entry_price"]) == Decimal("60000")
    await executor2.stop()


async def test_candles_to_fills_and_a_stop_through_the_engine(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    from tests.strategy.conftest import candle

    market = Market("100")
    executor, engine, broker, _ = await make(
        tmp_path, clock, btc_rules, market, {"BTCUSDT": Decimal("1")}
    )
    broker.set_rules(btc_rules)
    for i, close in enumerate(["100"] * 10 + ["110"]):
        market.price = Decimal(close)
        for s in engine.on_candle(candle("BTCUSDT", T0 + i * 60_000, close)):
            executor.submit(s)
    await executor.wait_idle()
    assert executor.positions.get("B", "BTCUSDT").entry_price == Decimal("110")
    market.price = Decimal("98")  # −10.9 %: B's stop (99), not A's (93.5)
    tick = Tick("BTCUSDT", 77, Decimal("98"), Decimal(1), T0 + 11 * 60_000, False)
    for s in engine.on_tick(tick):
        executor.submit(s)
    await executor.wait_idle()
    assert executor.positions.get("B", "BTCUSDT").qty == 0
    assert executor.positions.get("A", "BTCUSDT").qty == Decimal("0.999")
    stop = fills_in(executor.ledger, "B")[-1]
    assert stop.reason is SignalReason.STOP_LOSS and stop.client_order_id == "B-BTCUSDT-xS-25"
    await asyncio.sleep(0)
    await executor.stop()


async def test_each_intent_is_on_disk_before_the_broker_sees_its_order(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    path = tmp_path
    seen_on_disk: list[list[str]] = []

    class Watching(PaperBroker):
        async def place_market(
            self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
        ) -> BrokerFill:
            seen_on_disk.append([str(r["type"]) for r in lines(path)])
            return await super().place_market(symbol, side, quantity, client_order_id)

    broker = Watching(lambda s: Decimal("60000"), Decimal("0.001"), {"BTCUSDT": btc_rules}, clock)
    held: list[Decimal] = []
    executor = OrderExecutor(
        broker, await started_ledger(sqlite_url(path)), clock, make_risk(clock),
        order_quantities={"BTCUSDT": Decimal("0.001")},
        on_position=lambda v, s, qty, entry: held.append(qty),
    )  # fmt: skip
    await executor.start()
    held.clear()
    executor.submit(signal(Side.BUY, 1))
    executor.submit(signal(Side.SELL, 2, action="close"))
    executor.submit(SignalRaised("A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal(1), T0, 3))
    await executor.wait_idle()  # the third asks for no order (action "hold")
    await executor.stop()
    assert seen_on_disk == [["intent"], ["intent", "filled", "intent"]]
    assert held == [Decimal("0.00099"), Decimal(0)]  # the strategy heard each (sellable) fill
    assert [r["type"] for r in lines(path)] == ["intent", "filled", "intent", "filled"]
