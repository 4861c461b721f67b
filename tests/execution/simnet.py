"""Wiring for tests against the simulator: python-binance over real sockets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from binance import AsyncClient

from core.clock import Clock
from execution.brokers import TestnetBroker
from execution.executor import OrderExecutor
from execution.models import Mode
from execution.risk import RiskManager
from tests.ledgers import started_ledger

KEY, SECRET = "test-key", "test-secret"


def make_client(rest_url: str, timeout: float = 2.0) -> AsyncClient:
    client = AsyncClient(KEY, SECRET, testnet=True, requests_params={"timeout": timeout})
    client.API_TESTNET_URL = rest_url
    return client


async def sync_time(client: AsyncClient) -> AsyncClient:
    """The test's own client, with python-binance's timestamp offset set to the server's."""
    await TestnetBroker(client, {}).resync_time()
    return client


async def make_executor(
    client: AsyncClient,
    ledger_at: Path | str,
    clock: Clock,
    max_position: str = "100000",
    stop_loss: Decimal | None = None,
) -> OrderExecutor:
    """The executor against the simulator, its ledger at `ledger_at` (a database URL, or a
    path whose .db sibling becomes a SQLite ledger); with `stop_loss`, stops rest on the
    exchange."""
    broker = TestnetBroker(client, {}, mode=Mode.SIMULATED.value)
    await broker.resync_time()  # the simulator's clock is not the wall clock
    await broker.load_rules(["BTCUSDT", "ETHUSDT"])
    prices: dict[str, Decimal] = {}

    async def refresh() -> None:
        for t in await client.get_symbol_ticker():
            prices[t["symbol"]] = Decimal(t["price"])

    await refresh()
    risk = RiskManager(clock, Decimal(max_position), Decimal("100000"), 100_000)
    executor = OrderExecutor(
        broker, await started_ledger(ledger_url(ledger_at)), clock, risk, price_of=prices.get,
        order_quantities={"BTCUSDT": Decimal("0.001"), "ETHUSDT": Decimal("0.01")},
        backoff_s=0.02, backoff_max_s=0.2,
        stop_loss_of=None if stop_loss is None else (lambda variant: stop_loss),
    )  # fmt: skip
    return executor


def ledger_url(at: Path | str) -> str:
    return at if isinstance(at, str) else f"sqlite:///{at.with_suffix('.db')}"
