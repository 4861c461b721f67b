"""The same seed gives the same trades, whatever the real scheduling."""

from __future__ import annotations

import asyncio
from typing import Any

from simulator import Simulator
from tests.simulator.conftest import make_client, make_config


async def _history(sim: Simulator, symbol: str) -> list[dict[str, Any]]:
    client = make_client(sim)
    try:
        first = (await client.get_historical_trades(symbol=symbol, fromId=0, limit=1))[0]["id"]
        rows: list[dict[str, Any]] = await client.get_historical_trades(
            symbol=symbol, fromId=first, limit=1000
        )
        return rows
    finally:
        await client.close_connection()


async def test_same_seed_same_trades_over_the_wire() -> None:
    async with Simulator(make_config()) as a, Simulator(make_config()) as b:
        for symbol in ("BTCUSDT", "ETHUSDT"):
            assert await _history(a, symbol) == await _history(b, symbol)
    async with Simulator(make_config(seed=8)) as c, Simulator(make_config()) as d:
        assert await _history(c, "BTCUSDT") != await _history(d, "BTCUSDT")


async def test_live_trades_do_not_depend_on_scheduling() -> None:
    """Trades released while running equal those of an idle twin advanced to the same time."""
    async with Simulator(make_config(speed=1200.0)) as live:
        await asyncio.sleep(0.3)  # ~6 market minutes, released in ragged real-time steps
        released = live.trades("BTCUSDT")
    twin = Simulator(make_config(speed=1200.0))
    twin.state.tapes["BTCUSDT"].advance(released[-1].time)
    assert twin.trades("BTCUSDT")[: len(released)] == released
    assert len(released) > 3600 + 600  # 30 min of history at 2/s, plus the live minutes
