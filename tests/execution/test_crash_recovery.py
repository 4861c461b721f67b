"""SIGKILL between an intent and its outcome; the restart reconciles with the exchange."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from decimal import Decimal

import pytest

from simulator import FaultConfig, Simulator, SimulatorConfig
from tests.conftest import ROOT
from tests.execution.simnet import KEY, SECRET, make_client, sync_time
from tests.ledgers import ledger_lines


async def run_worker(rest_url: str, ledger: str, mode: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.execution.crash_worker", rest_url, ledger, mode,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.mark.e2e
async def test_kill_while_the_order_hangs_then_restart_reconciles(ledger_url: str) -> None:
    """On SQLite and on PostgreSQL: the killed process's intent is committed, nothing after
    it; the restart finds the order on the exchange by its id and records the fill once."""
    faults = FaultConfig(order_hang_probability=1.0, order_hang_s=60.0)
    config = SimulatorConfig(
        seed=3, symbols=("BTCUSDT",), api_key=KEY, api_secret=SECRET, faults=faults,
        history_minutes=1,
    )  # fmt: skip
    async with Simulator(config) as sim:
        proc = await run_worker(sim.rest_url, ledger_url, "buy")
        try:
            for _ in range(300):  # the order executed and its response is held
                if sim.state.stats["orders_hung"] >= 1:
                    break
                await asyncio.sleep(0.05)
            assert sim.state.stats["orders_hung"] == 1
            proc.send_signal(signal.SIGKILL)
        finally:
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        (intent,) = ledger_lines(ledger_url)
        assert intent["type"] == "intent"

        sim.faults.config = FaultConfig()
        proc = await run_worker(sim.rest_url, ledger_url, "resume")
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0
        report = json.loads(out.decode().splitlines()[0])

        client = await sync_time(make_client(sim.rest_url))
        try:
            orders = await client.get_all_orders(symbol="BTCUSDT")
            account = await client.get_account()
        finally:
            await client.close_connection()
    records = ledger_lines(ledger_url)[1:]
    assert [r["type"] for r in records] == ["filled"]
    filled = records[0]
    assert filled["client_order_id"] == intent["client_order_id"]
    assert [o["clientOrderId"] for o in orders] == [intent["client_order_id"]]
    assert filled["exchange_order_id"] == orders[0]["orderId"]
    # The rebuilt position equals what the exchange holds (BTC started at 1).
    btc = Decimal(next(b["free"] for b in account["balances"] if b["asset"] == "BTC"))
    (pos,) = report["positions"]
    assert (pos["variant"], pos["symbol"]) == ("A", "BTCUSDT")
    assert Decimal(pos["held_qty"]) == btc - 1 == Decimal("0.000999")
