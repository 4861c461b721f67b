"""SIGKILL at each step of an order (before its intent is durable, while the exchange holds its
response, after its fill but before the outcome is durable), on SQLite and on PostgreSQL; the
restart reconciles with the exchange: nothing sent twice, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from simulator import FaultConfig, Simulator, SimulatorConfig
from tests.conftest import ROOT
from tests.execution.simnet import KEY, SECRET, make_client, sync_time
from tests.ledgers import ledger_lines


async def run_worker(rest_url: str, ledger: str, mode: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.execution.crash_worker", rest_url, ledger, mode,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def restart_and_read(sim: Simulator, ledger_url: str) -> tuple[Any, Any, Any]:
    """The worker restarted without faults (it reconciles): its report, then the exchange's
    orders and account."""
    sim.faults.config = FaultConfig()
    proc = await run_worker(sim.rest_url, ledger_url, "resume")
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    report = json.loads(out.decode().splitlines()[0])
    client = await sync_time(make_client(sim.rest_url))
    try:
        return report, await client.get_all_orders(symbol="BTCUSDT"), await client.get_account()
    finally:
        await client.close_connection()


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

        report, orders, account = await restart_and_read(sim, ledger_url)
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


@contextlib.contextmanager
def writes_held(url: str) -> Iterator[None]:
    """The database takes no writes while inside (another session holds its write lock: a
    slow disk, a long transaction): a commit waits. Reads go on."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as pg:
        pg.execute("LOCK TABLE entries IN EXCLUSIVE MODE")
        yield
        pg.rollback()


async def _first_line(proc: asyncio.subprocess.Process) -> dict[str, object]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    report: dict[str, object] = json.loads(line.decode())
    return report


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL


async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


@pytest.mark.e2e
@pytest.mark.parametrize(
    "step", ["before the intent is durable", "after the fill, before its outcome is durable"]
)
async def test_sigkill_at_each_step_of_an_order(ledger_url: str, step: str) -> None:
    """On SQLite and on PostgreSQL, a SIGKILL at each step of an order, then a restart:
    nothing is sent that the ledger does not hold an intent for, an order sent is recorded
    once with the exchange's fill, and the rebuilt position equals the exchange's."""
    faults = FaultConfig()
    if step.startswith("after the fill"):  # the response comes late: time to hold the writes
        faults = FaultConfig(order_hang_probability=1.0, order_hang_s=1.5)
    config = SimulatorConfig(
        seed=3, symbols=("BTCUSDT",), api_key=KEY, api_secret=SECRET, faults=faults,
        history_minutes=1,
    )  # fmt: skip
    async with Simulator(config) as sim:
        ready = await run_worker(sim.rest_url, ledger_url, "resume")  # the ledger, migrated
        await asyncio.wait_for(ready.communicate(), 60)
        stats = sim.state.stats
        if step == "before the intent is durable":
            with writes_held(ledger_url):
                proc = await run_worker(sim.rest_url, ledger_url, "buy")
                await _first_line(proc)  # started; its BUY's intent now waits on the commit
                await asyncio.sleep(1.0)
                assert not sim.all_orders()  # nothing sent before the intent is durable
                await _kill(proc)
        else:
            proc = await run_worker(sim.rest_url, ledger_url, "buy")
            await _until(lambda: stats["orders_hung"] >= 1, 15, "the order executed")
            with writes_held(ledger_url):  # the outcome's commit will wait
                await _until(
                    lambda: any(o["status"] == "FILLED" for o in sim.all_orders()), 5, "filled"
                )
                await asyncio.sleep(2.5)  # the late response came, the lookup found the fill
                await _kill(proc)
        before = ledger_lines(ledger_url)

        report, orders, account = await restart_and_read(sim, ledger_url)
    lines = ledger_lines(ledger_url)
    intents = [x for x in lines if x["type"] == "intent"]
    fills = [x for x in lines if x["type"] == "filled"]
    if step == "before the intent is durable":
        assert before == [] and lines == [] and orders == []  # nothing held, nothing sent
        assert report["positions"] == []
        return
    # One intent, one exchange order with its id, one fill recorded: never two.
    assert [x["client_order_id"] for x in intents] == [o["clientOrderId"] for o in orders]
    assert [x["client_order_id"] for x in fills] == [o["clientOrderId"] for o in orders]
    assert len(orders) == 1 and fills[0]["exchange_order_id"] == orders[0]["orderId"]
    assert [x["type"] for x in before] == ["intent"]  # the outcome had not been written
    btc = Decimal(next(b["free"] for b in account["balances"] if b["asset"] == "BTC"))
    (pos,) = report["positions"]
    assert Decimal(pos["held_qty"]) == btc - 1 == Decimal("0.000999")
