"""A small rig: the real service wiring (`wiring.compose.build_service`, paper mode) on a
ManualClock, brought up as its start does, with the test bringing the trades.

Only the exchange is stood in for at start (`RecordedExchange`: the testnet's recorded
exchangeInfo entry); trades go into the service's pipeline, the paper broker fills at the last
trade price, and the journal is read back from its file.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.clock import MINUTE_MS, ManualClock
from data_ingestion.models import Tick
from service.container import Service
from strategy.models import SignalRaised, SignalReason
from tests.api import support
from tests.ledgers import ledger_lines
from wiring.compose import build_service

T0 = 1_781_476_440_000 - 1_781_476_440_000 % MINUTE_MS
SYMBOL = "BTCUSDT"
CROSSOVERS = "A:0.15:2:3,B:0.10:2:3"  # EMA(2)/SMA(3): a crossover in a few minutes


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
    """The entries of the rig's ledger (support.settings: ledger.db in the folder of `path`)."""
    return ledger_lines(f"sqlite:///{path.parent}/ledger.db")


def fills(path: Path, variant: str) -> list[tuple[str, str]]:
    return [
        (r["side"], r["reason"])
        for r in journal(path)
        if r["type"] == "filled" and r["variant"] == variant
    ]


def recorded_info(binance_data: Path) -> dict[str, Any]:
    """The testnet's recorded exchangeInfo entry of BTCUSDT."""
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


async def started(
    tmp_path: Path,
    clock: ManualClock,
    info: dict[str, Any],
    variants: str = CROSSOVERS,
    **settings: Any,
) -> Service:
    """The service wired in paper mode, brought up as its start does (ledger recovered,
    controls and signals restored), without the trade stream: the test brings the trades.
    `settings` override the rig's (e.g. `database_url`)."""
    cfg = support.settings(
        tmp_path, symbols=SYMBOL, variants=variants, candle_history=100, **settings
    )
    exchange = RecordedExchange(info, clock)
    service = build_service(
        cfg, mode="paper", clock=clock, client=exchange, stream_url="ws://127.0.0.1:9"
    )
    await service._load_exchange()  # the start's exchange step; the stream is not started
    assert service.trading_ready
    return service
