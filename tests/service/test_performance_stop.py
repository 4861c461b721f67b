"""The live performance task stops when cancelled, even when an event arrives with the cancel
(Python 3.11's asyncio.wait_for returns the event and drops such a cancel: the task then ran
on after the service's stop, and every Ctrl-C at --speed 600 logged it as still running)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from aggregation.models import Candle
from core.clock import ManualClock
from core.hub import CANDLE, Event, Hub
from execution.accounts import Accounts
from execution.positions import PositionBook
from service.performance import LivePerformance
from tests.ledgers import sqlite_url, started_ledger


async def test_a_cancel_that_comes_with_an_event_stops_the_task(tmp_path: Path) -> None:
    hub = Hub()
    journal = await started_ledger(sqlite_url(tmp_path))
    performance = LivePerformance(
        Accounts(["A"], Decimal(1000), PositionBook()), hub=hub,
        clock=ManualClock(0), lot=lambda symbol: ("BTC", "USDT", Decimal("0.00001")),
    )  # fmt: skip
    task = asyncio.create_task(performance.run())
    await asyncio.sleep(0.01)  # waiting for an event
    one = Decimal(1)
    candle = Candle("BTCUSDT", 0, one, one, one, one, one, one, 1, one, one)
    hub.publish(Event(CANDLE, candle, "BTCUSDT", 60_000))
    task.cancel()  # in the same loop turn as the event
    done, _ = await asyncio.wait({task}, timeout=0.5)
    assert task in done and task.cancelled()
    await journal.stop()
