"""The fast paths keep the live behaviour: group commit, the backtest journal, inline orders."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from core.clock import ManualClock
from execution import journal as journal_module
from execution.brokers import PaperBroker
from execution.executor import OrderExecutor
from execution.journal import Journal
from execution.models import BrokerFill
from execution.rules import SymbolRules
from strategy.models import Side, SignalRaised, SignalReason
from tests.execution.conftest import T0, make_risk, order_record


def signal(side: Side, ref: int, variant: str = "A") -> SignalRaised:
    action = "open" if side is Side.BUY else "close"
    return SignalRaised(
        variant, "BTCUSDT", side, SignalReason.SIGNAL, Decimal("60000"), T0 + ref, ref,
        action=action,
    )  # fmt: skip


async def test_appends_of_one_loop_turn_share_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    await journal.start()
    syncs: list[int] = []
    real = journal_module._write_all

    def counted(fd: int, data: bytes) -> None:
        syncs.append(fd)
        real(fd, data)

    monkeypatch.setattr(journal_module, "_write_all", counted)
    await asyncio.gather(*(journal.append(order_record(f"c{i}")) for i in range(20)))
    assert len(syncs) == 1  # 20 concurrent appends, one durable write
    assert [orjson.loads(x)["client_order_id"] for x in path.read_bytes().splitlines()] == [
        f"c{i}" for i in range(20)
    ]
    await journal.append(order_record("c20"))
    assert len(syncs) == 2 and len(path.read_bytes().splitlines()) == 21
    await journal.stop()


async def test_backtest_journal_keeps_records_and_writes_them_all_by_stop(tmp_path: Path) -> None:
    path = tmp_path / "bt.jsonl"
    journal = Journal(path, durable=False)
    await journal.start()
    for i in range(5000):  # more than one batch
        await journal.append(order_record(f"c{i}"))
    assert len(journal.records()) == 5000
    await journal.stop()
    assert len(path.read_bytes().splitlines()) == 5000
    again = Journal(path)
    await again.start()
    assert len(again.open_intents()) == 5000
    await again.stop()


async def test_journal_in_memory_only() -> None:
    journal = Journal(None, durable=False)
    with pytest.raises(RuntimeError, match="not started"):
        await journal.append(order_record("c1"))
    await journal.start()
    await journal.append(order_record("c1"))
    journal.append_nowait(order_record("c1", "filled", fill_time=1))
    assert journal.open_intents() == [] and len(journal.trades()) == 1
    await journal.stop()
    with pytest.raises(ValueError, match="needs a path"):
        Journal(None)


async def test_execute_inline_journals_the_intent_before_the_broker_sees_it(
    tmp_path: Path, clock: ManualClock, btc_rules: SymbolRules
) -> None:
    path = tmp_path / "trades.jsonl"
    seen_on_disk: list[list[str]] = []

    class Watching(PaperBroker):
        async def place_market(
            self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
        ) -> BrokerFill:
            seen_on_disk.append([orjson.loads(x)["type"] for x in path.read_bytes().splitlines()])
            return await super().place_market(symbol, side, quantity, client_order_id)

    broker = Watching(lambda s: Decimal("60000"), Decimal("0.001"), {"BTCUSDT": btc_rules}, clock)
    positions: list[Decimal] = []
    executor = OrderExecutor(
        broker, Journal(path), clock, make_risk(clock),
        order_quantities={"BTCUSDT": Decimal("0.001")},
        on_position=lambda v, s, qty, entry: positions.append(qty),
    )  # fmt: skip
    await executor.start()
    bought = await executor.execute(signal(Side.BUY, 1))
    sold = await executor.execute(signal(Side.SELL, 2))
    hold = SignalRaised("A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal(1), T0, 3)
    assert await executor.execute(hold) is None  # action "hold": no order
    await executor.stop()
    assert bought is not None and bought.filled and sold is not None and sold.filled
    assert seen_on_disk == [["intent"], ["intent", "filled", "intent"]]
    assert positions == [Decimal("0.00099"), Decimal(0)]  # the strategy heard each (sellable) fill
    assert executor.positions.get("A", "BTCUSDT").trades == 2
