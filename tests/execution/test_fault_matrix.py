"""Faults in combination, against the simulator over real sockets (python-binance): a lost
response, then lookups that meet -1021, 429 and 5xx, and time resyncs that fail. The order
must end as the exchange says, never as "rejected" when it executed, and exist exactly once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from core.clock import SystemClock
from execution.models import OrderStatus
from execution.recovery import reconcile
from simulator import FaultConfig, Simulator, SimulatorConfig
from simulator.faults import ScriptedFault
from strategy.models import Side
from tests.execution.simnet import KEY, SECRET, make_client, make_executor
from tests.ledgers import open_intents_in, orders_in

LOST = ScriptedFault("hang", "order", "POST")  # executes, the response never comes


def lookups(fault: str, times: int = 1) -> ScriptedFault:
    return ScriptedFault(fault, "order", "GET", times)


def resyncs(fault: str, times: int = 1) -> ScriptedFault:
    return ScriptedFault(fault, "time", "GET", times)


def placements(fault: str, times: int = 1) -> ScriptedFault:
    return ScriptedFault(fault, "order", "POST", times)


MATRIX = {
    "lost response, lookup -1021, resync 500": [LOST, lookups("-1021"), resyncs("500")],
    "lost response, lookup -1021 x5, resync 429 then 500": [
        LOST, lookups("-1021", 5), resyncs("429"), resyncs("500"),
    ],
    "lost response, lookup 429, 500, -1021, resync 500": [
        LOST, lookups("429"), lookups("500"), lookups("-1021"), resyncs("500"),
    ],
    "lost response, lookups time out": [LOST, ScriptedFault("hang", "order", "GET", 2)],
    "refused 500 unexecuted, lookup -1021, resync 500, then absent": [
        placements("500"), lookups("-1021"), resyncs("500"),
    ],
    "placement -1021 twice, resync 500": [placements("-1021", 2), resyncs("500")],
}  # fmt: skip


def sim_config() -> SimulatorConfig:
    return SimulatorConfig(
        seed=5, symbols=("BTCUSDT", "ETHUSDT"), api_key=KEY, api_secret=SECRET, history_minutes=1,
        faults=FaultConfig(order_hang_s=0.5, retry_after_s=0),
    )  # fmt: skip


@pytest.mark.parametrize("script", MATRIX.values(), ids=list(MATRIX))
async def test_an_executed_order_is_recorded_filled_exactly_once(
    tmp_path: Path, script: list[ScriptedFault]
) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url, timeout=0.3)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock())
        await executor.start()
        try:
            for fault in script:
                sim.faults.script(fault)
            out = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            orders = await client.get_all_orders(symbol="BTCUSDT")
            account = await client.get_account()
        finally:
            await executor.stop()
            await client.close_connection()
    assert out.status is OrderStatus.FILLED, out.error
    assert [o["clientOrderId"] for o in orders] == [out.client_order_id]  # exactly once
    assert out.exchange_order_id == orders[0]["orderId"]
    assert out.executed_qty == Decimal(orders[0]["executedQty"])
    statuses = [r.status for r in orders_in(executor.ledger)]
    assert statuses == [OrderStatus.INTENT, OrderStatus.FILLED]
    btc = next(Decimal(b["free"]) for b in account["balances"] if b["asset"] == "BTC")
    assert executor.positions.get("A", "BTCUSDT").held_qty == btc - 1  # BTC started at 1


async def test_a_placement_refused_for_its_clock_every_time_is_rejected_unsent(
    tmp_path: Path,
) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url, timeout=0.3)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock())
        await executor.start()
        try:
            sim.faults.script(placements("-1021", 10))
            out = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            orders = await client.get_all_orders(symbol="BTCUSDT")
        finally:
            await executor.stop()
            await client.close_connection()
    assert out.status is OrderStatus.REJECTED and out.error_code == -1021
    assert orders == []  # -1021 is refused before processing: nothing executed


async def test_reconcile_after_a_crash_keeps_looking_through_clock_and_rate_errors(
    ledger_url: str,
) -> None:
    """An intent left open by a crash, whose lookups meet -1021 and 429 while the time
    resync fails: filled from the exchange's answer, never abandoned or rejected (on SQLite
    and on PostgreSQL)."""
    path = ledger_url
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url, timeout=0.3)
        executor = await make_executor(client, path, SystemClock())
        await executor.start()
        sim.faults.script(LOST)
        sim.faults.script(lookups("500", 1000))  # the lookup never succeeds in this process
        order = executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
        task = asyncio.ensure_future(order)
        while not sim.state.stats["orders_hung"]:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        task.cancel()  # the process dies with the outcome unknown
        await asyncio.gather(task, return_exceptions=True)
        await executor.ledger.stop()
        sim.faults.clear_scripted()
        restarted = await make_executor(client, path, SystemClock())
        await restarted.ledger.start()
        sim.faults.script(lookups("-1021", 2))
        sim.faults.script(resyncs("500"))
        sim.faults.script(lookups("429"))
        intents = open_intents_in(restarted.ledger)
        outcomes = await reconcile(intents, restarted.broker, SystemClock(), 10, 0.01)
        orders = await client.get_all_orders(symbol="BTCUSDT")
        await restarted.ledger.stop()
        await client.close_connection()
    assert [o.status for o in outcomes] == [OrderStatus.FILLED]
    assert [o["clientOrderId"] for o in orders] == [outcomes[0].client_order_id]
