"""The database lost while the service runs (a real PostgreSQL refusing connections): orders
and controls answer 503 naming the ledger at once and change nothing, nothing reaches the
exchange, /health says degraded with the reason, and everything goes on once the database is
back, with no restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from simulator import Simulator
from tests.api import support
from tests.databases import postgres_database
from tests.ledgers import ledger_lines
from tests.service.test_money_and_states import running

pytestmark = pytest.mark.e2e
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}


def _allow(server: str, database: str, allowed: bool) -> None:
    """Let the database take connections, or refuse them and end the open ones."""
    url = make_url(server)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


async def test_a_lost_database_stops_orders_with_503_and_trading_resumes_when_it_is_back(
    sim: Simulator, tmp_path: Path, postgres_server: str
) -> None:
    with postgres_database(postgres_server) as url:
        database = make_url(url).database
        assert database is not None
        service = support.simulated_service(sim, support.settings(tmp_path, database_url=url))
        async with running(service) as http:
            assert (await http.post("/orders", json=ORDER)).status_code == 200

            _allow(postgres_server, database, False)
            began = time.monotonic()
            refused = [await http.post("/orders", json=ORDER) for _ in range(3)]
            pause = await http.post("/variants/B/pause", json={"reason": "lunch"})
            patch = await http.patch("/variants/B", json={"stop_loss": "0.2"})
            close = await http.post("/positions/A/BTCUSDT/close")
            drop = await http.delete("/symbols/ETHUSDT")
            took = time.monotonic() - began
            assert [r.status_code for r in refused] == [503, 503, 503], refused[0].text
            assert "ledger" in refused[0].json()["detail"]
            assert pause.status_code == 503 and "nothing was changed" in pause.json()["detail"]
            assert patch.status_code == 503, patch.text
            assert close.status_code == 503 and "ledger" in close.json()["detail"], close.text
            assert drop.status_code in (200, 503), drop.text  # answered: nothing hangs
            assert took < 10  # nothing waits on the dead database
            # No loop spins against the exchange meanwhile (a stop's cancel retried for ever).
            calls = sim.stats().get("rest_requests", 0)
            await asyncio.sleep(3)
            assert sim.stats().get("rest_requests", 0) - calls < 30
            await support.wait_for(
                lambda: any("ledger" in r for r in service.health().reasons), 10, "degraded"
            )
            health = (await http.get("/health")).json()
            assert health["status"] == "degraded"

            _allow(postgres_server, database, True)
            await support.wait_for(lambda: service.ledger.failure is None, 20, "writable")
            await support.wait_for(lambda: service.health().status == "ok", 10, "healthy")

            # The stop the refused close had canceled on the exchange is recorded now, and the
            # position (still open) is protected by a new one.
            def protected() -> bool:
                stops = service.executor.stops
                live = stops.live("A", "BTCUSDT") if stops is not None else None
                return live is not None and any(
                    o["clientOrderId"] == live.client_order_id and o["status"] == "NEW"
                    for o in sim.all_orders()
                )

            deadline = time.monotonic() + 15
            while not protected():
                assert time.monotonic() < deadline, "A's BTCUSDT position has no stop"
                await asyncio.sleep(0.2)
            again = await http.post("/orders", json=ORDER)
            assert again.status_code == 200, again.text
            orders = await service.client.get_all_orders(symbol="BTCUSDT")
        await asyncio.sleep(0)
        lines = ledger_lines(url)
    # Exactly the two accepted orders reached the exchange, each once, and both are in the
    # ledger with their fills; the refused one left an intent at most, never an order.
    manual = [o for o in orders if o["clientOrderId"].startswith("A-BTCUSDT-m")]
    filled = {x["client_order_id"] for x in lines if x["type"] == "filled"}
    assert len(manual) == 2
    assert {o["clientOrderId"] for o in manual} <= filled
