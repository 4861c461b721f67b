"""A paused variant is quiet: its BUY signals are decided `none: paused` by the strategy engine
(no order, no `rejected` journal line), its exits and stops still go out, and the pause reaches
the engine from the journal at a restart.

The real service wiring (`wiring.compose.build_service`, paper mode) on a ManualClock: trades go
into the service's pipeline, the paper broker fills at the last trade price, and the journal is
read back from its file.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.clock import MINUTE_MS, ManualClock
from data_ingestion.models import Tick
from service.container import Service
from strategy.models import Side, SignalRaised, SignalReason
from tests.api import support
from wiring.compose import build_service

T0 = 1_781_476_440_000 - 1_781_476_440_000 % MINUTE_MS
SYMBOL = "BTCUSDT"


class Market:
    """The service wired in paper mode; one trade per minute (each closes the minute before)."""

    def __init__(self, service: Service, clock: ManualClock, minute: int = 0) -> None:
        self.service = service
        self.clock = clock
        self.minute = minute
        self.trade_id = 1_000 * minute

    async def trade(self, price: str, offset_ms: int = 1_000) -> None:
        self.trade_id += 1
        t = T0 + self.minute * MINUTE_MS + offset_ms
        self.clock.set(t)
        tick = Tick(SYMBOL, self.trade_id, Decimal(price), Decimal("0.01"), t, False)
        self.service.pipeline.on_tick(tick)
        await self.service.executor.wait_idle()

    async def closes(self, *prices: int) -> list[SignalRaised]:
        """One minute per price; the crossover signals they raised."""
        before = len(self.service.signals)
        for price in prices:
            await self.trade(str(price))
            self.minute += 1
        await self.trade(str(prices[-1]))  # closes the last of them
        return self.service.signals.query(limit=10_000)[before:]

    def signals(self, variant: str, reason: SignalReason = SignalReason.SIGNAL) -> list[Any]:
        return [
            s
            for s in self.service.signals.query(limit=10_000)
            if s.variant == variant and s.reason is reason
        ]


def journal(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def fills(path: Path, variant: str) -> list[tuple[str, str]]:
    return [
        (r["side"], r["reason"])
        for r in journal(path)
        if r["type"] == "filled" and r["variant"] == variant
    ]


@pytest.fixture
def info(binance_data: Path) -> dict[str, Any]:
    path = binance_data / "testnet-btcusdt-2026-06-15" / "symbol_info.json"
    entry: dict[str, Any] = json.loads(path.read_text())
    return entry


class RecordedExchange:
    """The exchange boundary at start: the testnet's recorded exchangeInfo entry of BTCUSDT,
    its server time (the clock's), and no klines to warm up from."""

    def __init__(self, info: dict[str, Any], clock: ManualClock) -> None:
        self.info = info
        self.clock = clock
        self.timestamp_offset = 0

    async def get_exchange_info(self) -> dict[str, Any]:
        return {"symbols": [self.info]}

    async def get_server_time(self) -> dict[str, int]:
        return {"serverTime": self.clock.now_ms()}

    async def get_klines(self, **_: Any) -> list[Any]:
        return []


async def started(tmp_path: Path, clock: ManualClock, info: dict[str, Any]) -> Service:
    """The service wired in paper mode, brought up as its start does (journal recovered,
    controls and signals restored), without the trade stream: the test brings the trades."""
    cfg = support.settings(
        tmp_path, symbols=SYMBOL, variants="A:0.15:2:3,B:0.10:2:3", candle_history=100
    )
    exchange = RecordedExchange(info, clock)
    service = build_service(
        cfg, mode="paper", clock=clock, client=exchange, stream_url="ws://127.0.0.1:9"
    )
    await service._load_exchange()  # the start's exchange step; the stream is not started
    assert service.trading_ready
    return service


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
