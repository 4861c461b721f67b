"""The real TradeFeed + CandleAggregator against the simulator over real sockets, with faults.

Every closed minute's candle must equal the simulator's own kline (REST /api/v3/klines through
python-binance): none missing, none doubled, despite stream drops every second, duplicates,
out-of-order and malformed frames.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle, CandleSource
from aggregation.timer import CloseTimer
from aggregation.warmup import warm_up_from_rest
from core.clock import SimulatedClock
from data_ingestion.backoff import Backoff
from data_ingestion.feed import TradeFeed
from simulator import FaultConfig, Simulator, SimulatorConfig

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

SYMBOLS = ("BTCUSDT", "ETHUSDT")
SPEED = (
    120.0  # a market minute in 0.5 s; the 60 s grace is 500 ms real (loop stalls on a shared CPU)
)


def _nine(row: list[Any]) -> list[Any]:
    return [
        Decimal(row[i]) if isinstance(row[i], str) else row[i] for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)
    ]


async def test_feed_candles_equal_simulator_klines_under_faults():
    faults = FaultConfig(
        drop_every_s=1.0,
        duplicate_probability=0.02,
        out_of_order_probability=0.02,
        malformed_probability=0.002,
    )
    cfg = SimulatorConfig(
        seed=11, speed=SPEED, symbols=SYMBOLS, api_key="K", api_secret="S", faults=faults,
        history_minutes=30,
    )  # fmt: skip
    async with Simulator(cfg) as sim:
        client = AsyncClient("K", "S", testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        closed: list[Candle] = []
        agg = CandleAggregator(history=1440, grace_ms=60_000, on_close=closed.append)
        for symbol in SYMBOLS:
            assert agg.warm_up(symbol, await warm_up_from_rest(client, symbol, 20)) == 20
        clock = SimulatedClock(sim.clock.now_ms, sim.clock.speed)
        closer = CloseTimer(clock, agg)
        feed = TradeFeed(
            client, SYMBOLS, agg.add_tick, clock=clock, gate=closer,
            stream_url=sim.stream_url, healthy_s=0.5, backoff=Backoff(initial=0.05, cap=0.3),
        )  # fmt: skip
        closer.start()
        await feed.start()
        try:
            await asyncio.sleep(8.0)  # ~16 market minutes, ~8 drops
            states = feed.states()
        finally:
            await feed.stop()
            closer.stop()
        try:
            live = [c for c in closed if c.source is not CandleSource.WARMUP]
            assert feed.reconnects >= 3
            assert sum(s.duplicates for s in states.values()) > 0
            assert feed.malformed > 0
            assert sum(s.gaps for s in states.values()) > 0  # out-of-order frames and lost ones
            assert agg.late_trades == 0
            for symbol in SYMBOLS:
                mine = [c for c in live if c.symbol == symbol]
                assert len(mine) >= 12, f"{symbol}: only {len(mine)} minutes closed"
                times = [c.open_time for c in agg.history(symbol)]
                assert times == list(range(times[0], times[-1] + 1, 60_000))  # no hole, no double
                rows = await client.get_klines(
                    symbol=symbol, interval="1m", startTime=mine[0].open_time, limit=len(mine)
                )
                theirs = {r[0]: r for r in rows}
                for c in mine:
                    assert c.complete
                    assert _nine(c.to_kline_row()) == _nine(theirs[c.open_time]), c
        finally:
            await client.close_connection()
