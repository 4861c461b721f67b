"""Stops that rest on the exchange (STOP_MODE=exchange), against the simulator over real
sockets: placed after an entry, canceled before an exit, and every race with the exchange
settled by asking it about the stop's id."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import SystemClock
from execution.executor import OrderExecutor
from execution.models import OrderRecord, OrderStatus
from simulator import FaultConfig, Simulator, SimulatorConfig
from simulator.faults import ScriptedFault
from strategy.models import Side, SignalReason
from tests.execution.simnet import KEY, SECRET, make_client, make_executor
from tests.ledgers import orders_in

STOP = Decimal("0.15")


def sim_config() -> SimulatorConfig:
    return SimulatorConfig(
        seed=9, symbols=("BTCUSDT", "ETHUSDT"), api_key=KEY, api_secret=SECRET, history_minutes=1,
        faults=FaultConfig(order_hang_s=0.5, retry_after_s=0),
    )  # fmt: skip


def stops_of(executor: OrderExecutor) -> list[OrderRecord]:
    return [r for r in orders_in(executor.ledger) if r.order_type == "STOP_LOSS"]


async def orders_on_exchange(client: Any) -> list[dict[str, Any]]:
    return list(await client.get_all_orders(symbol="BTCUSDT"))


async def test_an_entry_gets_a_stop_and_an_exit_cancels_it_before_selling(
    tmp_path: Path,
) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock(), stop_loss=STOP)
        await executor.start()
        try:
            buy = await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            resting = await client.get_open_orders(symbol="BTCUSDT")
            sell = await executor.close_position("A", "BTCUSDT")
            orders = await orders_on_exchange(client)
        finally:
            await executor.stop()
            await client.close_connection()
    assert buy.filled and sell.filled and sell.order_type == "MARKET"
    (stop,) = resting
    assert stop["type"] == "STOP_LOSS" and stop["side"] == "SELL"
    assert Decimal(stop["origQty"]) == Decimal("0.00099")  # the sellable part, not the dust
    assert buy.avg_price is not None
    level = (buy.avg_price * (1 - STOP)).quantize(Decimal("0.01"), "ROUND_DOWN")
    assert Decimal(stop["stopPrice"]) == level
    statuses = [r.status for r in stops_of(executor)]
    assert statuses == [OrderStatus.INTENT, OrderStatus.OPEN, OrderStatus.CANCELED]
    by_type = {o["type"]: o["status"] for o in orders}
    assert by_type == {"MARKET": "FILLED", "STOP_LOSS": "CANCELED"}
    assert [o["side"] for o in orders if o["type"] == "MARKET"] == ["BUY", "SELL"]


async def test_a_stop_that_sold_first_is_the_exit_and_nothing_sells_again(
    tmp_path: Path,
) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock(), stop_loss=STOP)
        await executor.start()
        try:
            await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            sim.controls.shock("BTCUSDT", Decimal("-30"))  # the stop triggers on the exchange
            exit_ = await executor.close_position("A", "BTCUSDT")  # the exit was on its way
            orders = await orders_on_exchange(client)
        finally:
            await executor.stop()
            await client.close_connection()
    assert exit_.filled and exit_.order_type == "STOP_LOSS"
    assert exit_.reason is SignalReason.STOP_LOSS
    stop = next(o for o in orders if o["type"] == "STOP_LOSS")
    assert stop["status"] == "FILLED" and exit_.exchange_order_id == stop["orderId"]
    assert exit_.executed_qty == Decimal(stop["executedQty"])
    assert [o["side"] for o in orders] == ["BUY", "SELL"]  # no second sale
    pos = executor.positions.get("A", "BTCUSDT")
    assert pos.qty == 0 and pos.held_qty == Decimal("0.000009")  # the dust stays


async def test_a_cancel_that_fails_is_asked_again_before_the_exit_sells(tmp_path: Path) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url, timeout=0.3)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock(), stop_loss=STOP)
        await executor.start()
        try:
            await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            sim.faults.script(ScriptedFault("500", "order", "DELETE", 2))
            sim.faults.script(ScriptedFault("429", "order", "DELETE"))
            sell = await executor.close_position("A", "BTCUSDT")
            orders = await orders_on_exchange(client)
        finally:
            await executor.stop()
            await client.close_connection()
    assert sell.filled and sell.order_type == "MARKET"
    assert {o["type"]: o["status"] for o in orders} == {"MARKET": "FILLED", "STOP_LOSS": "CANCELED"}
    assert len([o for o in orders if o["side"] == "SELL" and o["type"] == "MARKET"]) == 1


async def test_a_stop_fill_learnt_from_the_exchange_records_the_exit(tmp_path: Path) -> None:
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock(), stop_loss=STOP)
        await executor.start()
        try:
            await executor.manual_order("B", "BTCUSDT", Side.BUY, Decimal("0.001"))
            sim.controls.shock("BTCUSDT", Decimal("-30"))
            executor.check_stop("B", "BTCUSDT")  # what a user-data event or a poll does
            await executor.wait_idle()
            orders = await orders_on_exchange(client)
        finally:
            await executor.stop()
            await client.close_connection()
    stop = next(o for o in orders if o["type"] == "STOP_LOSS")
    filled = [r for r in stops_of(executor) if r.filled]
    assert len(filled) == 1 and filled[0].exchange_order_id == stop["orderId"]
    assert filled[0].quote_qty == Decimal(stop["cummulativeQuoteQty"])
    assert executor.positions.get("B", "BTCUSDT").qty == 0


async def test_a_restart_reconciles_stops_with_the_journal(tmp_path: Path) -> None:
    """A stop that filled while the service was down becomes the exit; a position whose stop
    vanished gets a new one; a stop without a position is canceled."""
    path = tmp_path / "j.jsonl"
    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        first = await make_executor(client, path, SystemClock(), stop_loss=STOP)
        await first.start()
        await first.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
        await first.manual_order("B", "ETHUSDT", Side.BUY, Decimal("0.01"))
        await first.stop()  # the service is down from here
        sim.controls.shock("BTCUSDT", Decimal("-30"))  # A's stop fills while it is down
        b_stop = next(r for r in stops_of(first) if r.symbol == "ETHUSDT")
        await client.cancel_order(symbol="ETHUSDT", origClientOrderId=b_stop.client_order_id)
        second = await make_executor(client, path, SystemClock(), stop_loss=STOP)
        await second.start()
        try:
            eth_open = await client.get_open_orders(symbol="ETHUSDT")
            btc_orders = await orders_on_exchange(client)
        finally:
            await second.stop()
            await client.close_connection()
    a_exit = [r for r in stops_of(second) if r.filled and r.symbol == "BTCUSDT"]
    btc_stop = next(o for o in btc_orders if o["type"] == "STOP_LOSS")
    assert len(a_exit) == 1 and a_exit[0].exchange_order_id == btc_stop["orderId"]
    assert a_exit[0].avg_price is not None and a_exit[0].executed_qty == Decimal("0.00099")
    assert second.positions.get("A", "BTCUSDT").qty == 0
    # B's stop was canceled behind the service's back: B gets a new one, with a new id.
    (new_stop,) = eth_open
    assert new_stop["type"] == "STOP_LOSS" and new_stop["clientOrderId"] != b_stop.client_order_id
    assert second.stops is not None and second.stops.live("B", "ETHUSDT") is not None


async def _stop_exit_heard(tmp_path: Path, stream_url: str | None) -> tuple[Any, Any]:
    """A stop fills on the exchange with nobody asking: the user-data stream (at
    `stream_url`, or a dead port: the stream is down) or the polling fallback must hear it."""
    from execution.stop_watch import StopWatch
    from execution.user_stream import UserStream
    from tests.api.support import free_port

    async with Simulator(sim_config()) as sim:
        client = make_client(sim.rest_url)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock(), stop_loss=STOP)
        await executor.start()
        watch = StopWatch(executor, poll_s=0.2)
        url = stream_url or f"ws://127.0.0.1:{free_port()}/ws-api/v3"
        stream = UserStream(
            sim.ws_api_url if stream_url == "sim" else url, KEY, SECRET,
            lambda: int(time.time() * 1000 + client.timestamp_offset),
            watch.on_report, watch.on_connected,
        )  # fmt: skip
        tasks = [asyncio.create_task(stream.run()), asyncio.create_task(watch.poll_while_down())]
        try:
            await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
            if stream_url == "sim":
                for _ in range(100):
                    if stream.connected:
                        break
                    await asyncio.sleep(0.02)
                assert stream.connected
            sim.controls.shock("BTCUSDT", Decimal("-30"))
            for _ in range(200):
                if executor.positions.get("A", "BTCUSDT").qty == 0:
                    break
                await asyncio.sleep(0.02)
            orders = await orders_on_exchange(client)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await executor.stop()
            await client.close_connection()
    return executor, (orders, watch, stream)


async def test_a_stop_fill_is_heard_from_the_user_data_stream(tmp_path: Path) -> None:
    executor, (orders, watch, _stream) = await _stop_exit_heard(tmp_path, "sim")
    stop = next(o for o in orders if o["type"] == "STOP_LOSS")
    (exit_,) = [r for r in stops_of(executor) if r.filled]
    assert exit_.exchange_order_id == stop["orderId"] and watch.events >= 1
    assert executor.positions.get("A", "BTCUSDT").qty == 0


async def test_a_stop_fill_while_the_stream_is_down_is_found_by_polling(tmp_path: Path) -> None:
    executor, (orders, watch, stream) = await _stop_exit_heard(tmp_path, None)
    assert not stream.connected and stream.reconnects >= 1 and watch.events == 0
    stop = next(o for o in orders if o["type"] == "STOP_LOSS")
    (exit_,) = [r for r in stops_of(executor) if r.filled]
    assert exit_.exchange_order_id == stop["orderId"]
    assert exit_.quote_qty == Decimal(stop["cummulativeQuoteQty"])
