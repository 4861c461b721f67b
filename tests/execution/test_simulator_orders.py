"""TestnetBroker / OrderExecutor against the simulator over real sockets (python-binance)."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from core.clock import SystemClock
from execution.errors import FilterFailureError, InsufficientBalanceError
from simulator import FaultConfig, Simulator, SimulatorConfig
from strategy.models import Side
from tests.execution.simnet import KEY, SECRET, make_client, make_executor
from tests.ledgers import orders_in


def sim_config(**faults: object) -> SimulatorConfig:
    return SimulatorConfig(
        seed=7, speed=1.0, symbols=("BTCUSDT", "ETHUSDT"), api_key=KEY, api_secret=SECRET,
        faults=FaultConfig(**faults),  # type: ignore[arg-type]
        history_minutes=1,
    )  # fmt: skip


async def test_fills_commissions_and_rejections(tmp_path: Path) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock())
        await executor.start()
        try:
            buy = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            assert buy.filled and buy.mode == "simulated"
            assert buy.commission_asset == "BTC" and buy.commission == Decimal("0.000001")
            sell = await executor.close_position("A", "BTCUSDT")
            assert sell.filled and sell.commission_asset == "USDT"
            assert sell.executed_qty == Decimal("0.00099")
            want_fee = (sell.quote_qty * Decimal("0.001")).quantize(Decimal("1e-8"), "ROUND_DOWN")
            assert sell.commission == want_fee
            pos = executor.positions.get("A", "BTCUSDT")
            assert pos.qty == 0 and pos.dust == Decimal("0.000009")
            # The dust is not a loss: the sold part carries its share of the cost, the dust
            # keeps the rest and is worth the last price.
            sold_cost = buy.quote_qty * sell.executed_qty / (buy.executed_qty - buy.commission)
            want_pnl = sell.quote_qty - sell.commission - sold_cost
            assert abs(pos.realized_pnl - want_pnl) < Decimal("1e-20")
            account = await client.get_account()
            btc = next(b for b in account["balances"] if b["asset"] == "BTC")
            usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
            assert Decimal(btc["free"]) == Decimal(1) + pos.dust  # the exchange holds the dust
            # Realized + unrealized is the mark-to-market result of the account's own change.
            last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
            start_usdt = Decimal(dict(sim_config().initial_balances)["USDT"])
            mtm = Decimal(usdt["free"]) - start_usdt + (Decimal(btc["free"]) - 1) * last
            total = pos.realized_pnl + (pos.unrealized_pnl(last) or 0)
            assert abs(total - mtm) < Decimal("1e-8"), (total, mtm)

            # Insufficient balance: -2010 becomes a rejected record with the code.
            big = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.5"))
            assert big.status.value == "rejected" and big.error_code == -2010
            # A filter failure from the exchange itself (the executor would not send it).
            with pytest.raises(FilterFailureError):
                await executor.broker.place_market("BTCUSDT", Side.BUY, Decimal("0.00001"), "t-1")
            with pytest.raises(InsufficientBalanceError):
                await executor.broker.place_market("ETHUSDT", Side.SELL, Decimal("11"), "t-2")
            # Below NOTIONAL by our own check: a rejected record and no request at all.
            before = len(await client.get_all_orders(symbol="BTCUSDT"))
            small = await executor.manual_order("B", "BTCUSDT", Side.BUY, Decimal("0.00002"))
            assert small.status.value == "rejected" and "NOTIONAL" in str(small.error)
            assert len(await client.get_all_orders(symbol="BTCUSDT")) == before
        finally:
            await executor.stop()
            await client.close_connection()
    types = [r.status.value for r in orders_in(executor.ledger)]
    assert types == ["intent", "filled", "intent", "filled", "intent", "rejected", "rejected"]


async def test_timestamp_error_resyncs_and_retries_once(tmp_path: Path) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock())
        await executor.start()
        try:
            client.timestamp_offset += 5_000  # 5 s ahead of the server: -1021
            out = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            assert out.filled
            server = (await client.get_server_time())["serverTime"]
            assert abs(server - (time.time_ns() // 1_000_000 + client.timestamp_offset)) < 1_000
            assert sim.state.stats["error_-1021"] == 1
        finally:
            await executor.stop()
            await client.close_connection()


@pytest.mark.e2e
async def test_rate_limit_pauses_for_retry_after(tmp_path: Path) -> None:
    async with Simulator(sim_config(rate_limit_probability=1.0, retry_after_s=1)) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock())
        await executor.start()
        try:
            t0 = time.monotonic()
            task = executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            import asyncio

            fut = asyncio.ensure_future(task)
            await asyncio.sleep(0.3)
            assert executor.risk.paused_for() > 0.5  # paused by the 429's Retry-After
            sim.faults.config = FaultConfig()
            out = await fut
            assert out.filled and time.monotonic() - t0 >= 1.0
            orders = await client.get_all_orders(symbol="BTCUSDT")
            assert [o["clientOrderId"] for o in orders] == [out.client_order_id]
        finally:
            await executor.stop()
            await client.close_connection()
