"""Once only under faults: timeouts after execution, 5xx and 429 over 200+ orders."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.clock import SystemClock
from execution.models import OrderStatus
from simulator import FaultConfig, Simulator, SimulatorConfig
from strategy.models import Side
from tests.execution.simnet import KEY, SECRET, make_client, make_executor
from tests.ledgers import open_intents_in, orders_in

ROUNDS = 26  # per (variant, symbol) pair, a BUY and a closing SELL each: 4 × 26 × 2 = 208


async def trade_rounds(executor, variant: str, symbol: str, qty: str) -> None:
    for _ in range(ROUNDS):
        await executor.manual_order(variant, symbol, Side.BUY, Decimal(qty))
        await executor.close_position(variant, symbol)


@pytest.mark.e2e
async def test_every_intent_has_exactly_one_exchange_order(tmp_path: Path) -> None:
    faults = FaultConfig(
        order_hang_probability=0.05, order_hang_s=2.0, server_error_probability=0.08,
        rate_limit_probability=0.03, retry_after_s=0,
    )  # fmt: skip
    config = SimulatorConfig(
        seed=11, symbols=("BTCUSDT", "ETHUSDT"), api_key=KEY, api_secret=SECRET, faults=faults,
        history_minutes=1, initial_balances=(("USDT", "100000"), ("BTC", "1"), ("ETH", "10")),
    )  # fmt: skip
    async with Simulator(config) as sim:
        client = make_client(sim.rest_url, timeout=0.3)
        executor = await make_executor(client, tmp_path / "j.jsonl", SystemClock())
        await executor.start()
        try:
            await asyncio.gather(
                trade_rounds(executor, "A", "BTCUSDT", "0.001"),
                trade_rounds(executor, "B", "BTCUSDT", "0.001"),
                trade_rounds(executor, "A", "ETHUSDT", "0.01"),
                trade_rounds(executor, "B", "ETHUSDT", "0.01"),
            )
            exchange: dict[str, list[dict[str, Any]]] = {}
            for symbol in ("BTCUSDT", "ETHUSDT"):
                for order in await client.get_all_orders(symbol=symbol, limit=1000):
                    exchange.setdefault(order["clientOrderId"], []).append(order)
        finally:
            await executor.stop()
            await client.close_connection()
        stats = sim.state.stats
    # The faults did happen.
    assert stats["orders_hung"] > 0 and stats["injected_500"] > 0 and stats["injected_429"] > 0

    records = orders_in(executor.ledger)
    intents = [r for r in records if r.status is OrderStatus.INTENT]
    outcomes = Counter(r.client_order_id for r in records if r.status is not OrderStatus.INTENT)
    assert len(intents) == ROUNDS * 8 >= 200
    assert open_intents_in(executor.ledger) == []
    assert all(outcomes[r.client_order_id] == 1 for r in intents)
    # Exactly one exchange order per intent, and none the journal does not know.
    assert set(exchange) == {r.client_order_id for r in intents}
    assert all(len(orders) == 1 for orders in exchange.values())
    for rec in records:
        if rec.filled:
            order = exchange[rec.client_order_id][0]
            assert order["orderId"] == rec.exchange_order_id
            assert Decimal(order["executedQty"]) == rec.executed_qty
            assert Decimal(order["cummulativeQuoteQty"]) == rec.quote_qty
    assert sum(1 for r in records if r.filled) == len(intents)
