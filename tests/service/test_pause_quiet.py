"""A paused variant is quiet: its BUY signals are decided `none: paused` by the strategy engine
(no order, no `rejected` journal line), its exits and stops still go out, and the pause reaches
the engine from the journal at a restart (the rig: tests/service/paper_rig.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from strategy.models import Side, SignalRaised, SignalReason
from tests.service.paper_rig import SYMBOL, T0, Market, fills, journal, recorded_info, started


@pytest.fixture
def info(binance_data: Path) -> dict[str, Any]:
    return recorded_info(binance_data)


@pytest.fixture
async def rig(tmp_path: Path, info: dict[str, Any]) -> AsyncIterator[Market]:
    clock = ManualClock(T0)
    service = await started(tmp_path, clock, info)
    try:
        yield Market(service, clock)
    finally:
        await service.executor.stop(drain_timeout_s=1.0)


UP = (59_000, 58_800, 58_600, 58_400, 61_000)  # falls, then crosses up: BUY
DOWN = (61_500, 61_800, 62_000, 62_200, 60_000)  # rises, then crosses down: SELL


def actions(signals: list[SignalRaised], side: Side) -> dict[str, str]:
    return {s.variant: s.action for s in signals if s.side is side}


async def test_a_paused_variant_decides_none_on_buys_and_still_exits(
    rig: Market, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    await rig.service.controls.pause("A", "watching")

    # A crossover up: B buys; A's BUY is a signal the engine decided "none: paused".
    assert actions(await rig.closes(*UP), Side.BUY) == {"A": "none: paused", "B": "open"}
    assert fills(path, "B") == [("BUY", "signal")]
    assert fills(path, "A") == []
    assert actions(await rig.closes(*DOWN), Side.SELL) == {"A": "none: flat", "B": "close"}

    # Resumed, A's next BUY is sent and fills.
    await rig.service.controls.resume("A")
    assert actions(await rig.closes(*UP), Side.BUY) == {"A": "open", "B": "open"}
    assert fills(path, "A") == [("BUY", "signal")]

    # Paused while long: the strategy's SELL still goes out.
    await rig.service.controls.pause("A")
    assert actions(await rig.closes(*DOWN), Side.SELL) == {"A": "close", "B": "close"}
    assert fills(path, "A") == [("BUY", "signal"), ("SELL", "signal")]

    # Long again (resumed for the entry), paused, and the price falls through both stops.
    await rig.service.controls.resume("A")
    assert actions(await rig.closes(*UP), Side.BUY) == {"A": "open", "B": "open"}
    await rig.service.controls.pause("A")
    await rig.trade("50000", 2_000)  # -18 %: under A's 15 % and B's 10 % stops
    assert [s.action for s in rig.signals("A", SignalReason.STOP_LOSS)] == ["close"]
    assert fills(path, "A")[-1] == ("SELL", "stop_loss")
    assert rig.service.positions.get("A", SYMBOL).qty == 0

    lines = journal(path)
    assert [r for r in lines if r["type"] == "rejected"] == []  # the pause refused nothing
    noted = [r["action"] for r in lines if r["type"] == "signal" and r["variant"] == "A"]
    assert noted.count("none: paused") == 1  # the pause is in the signal history instead
    # The executor's gate stays the backstop: a manual BUY of a paused variant is refused.
    manual = await rig.service.executor.manual_order("A", SYMBOL, Side.BUY, Decimal("0.001"))
    assert manual.status.value == "rejected" and "A is paused" in (manual.error or "")


async def test_the_pause_reaches_the_engine_from_the_journal_at_a_restart(
    tmp_path: Path, info: dict[str, Any]
) -> None:
    path = tmp_path / "journal.jsonl"
    clock = ManualClock(T0)
    first = await started(tmp_path, clock, info)
    await first.controls.pause("A", "overnight")
    await first.executor.stop(drain_timeout_s=1.0)

    second = await started(tmp_path, clock, info)  # the same journal: pause replayed
    try:
        market = Market(second, clock)
        assert actions(await market.closes(*UP), Side.BUY) == {"A": "none: paused", "B": "open"}
        assert fills(path, "A") == [] and fills(path, "B") == [("BUY", "signal")]
        assert [r for r in journal(path) if r["type"] == "rejected"] == []
        await second.controls.resume("A")
        await market.closes(*DOWN)
        assert actions(await market.closes(*UP), Side.BUY) == {"A": "open", "B": "open"}
        assert fills(path, "A") == [("BUY", "signal")]
    finally:
        await second.executor.stop(drain_timeout_s=1.0)
