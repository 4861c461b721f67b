"""REST backfill against the simulator: failures mark minutes incomplete, the request-weight
limit is kept, and aggTrades stands in when historicalTrades fails."""

from __future__ import annotations

import asyncio
import logging

import pytest
from binance import AsyncClient

from data_ingestion.backfill import TradeFetcher
from simulator import FaultConfig, Simulator
from tests.data_ingestion.harness import config, running

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)

FAST_RETRIES = {"retries": 2, "retry_delay_s": 0.05}


async def test_failed_backfill_closes_the_touched_minutes_incomplete():
    async with running(config(), ("BTCUSDT",), fetcher_kwargs=FAST_RETRIES) as run:
        await run.live()
        await asyncio.sleep(0.5)
        # Frames are lost (a gap) while every REST request fails: the gap cannot be filled.
        run.sim.faults.config = FaultConfig(
            malformed_probability=0.05, server_error_probability=1.0, rest_faults_on="all"
        )
        await asyncio.sleep(0.8)
        run.sim.faults.config = FaultConfig()
        await asyncio.sleep(1.5)
        state = run.feed.states()["BTCUSDT"]
    assert state.unfilled_gaps >= 1
    assert run.sim.stats()["injected_500"] >= 2
    run.check_candles("BTCUSDT", min_live=5, allow_incomplete=True)  # complete ones are exact
    got = set(run.delivered_ids("BTCUSDT"))
    lost = [t for t in run.sim.trades("BTCUSDT") if min(got) < t.id < max(got) and t.id not in got]
    assert lost
    by_minute = {c.open_time: c for c in run.agg.history("BTCUSDT")}
    for trade in lost:  # no minute that misses a trade passes for complete
        assert not by_minute[trade.time - trade.time % 60_000].complete
    assert run.agg.history("BTCUSDT")[-1].complete  # the faults are over: complete again


async def test_backfill_keeps_within_the_request_weight_limit(caplog):
    caplog.set_level(logging.WARNING, logger="data_ingestion.backfill")
    cfg = config(trade_rate=5.0, history_minutes=60, weight_limit_1m=400)
    # The first 5 of 60 history minutes as warm-up: ~16,000 trades to fetch, 17 pages of
    # historicalTrades (weight 25 each): more than this minute's budget of 400 * 0.7.
    async with running(
        cfg, ("BTCUSDT",), warm=5, warm_oldest=True, fetcher_kwargs={"weight_limit": 400}
    ) as run:
        await run.wait_for(
            lambda: any("pausing" in r.getMessage() for r in caplog.records), 8.0, "a pause"
        )
        await asyncio.sleep(0.5)
        state = run.feed.states()["BTCUSDT"]
        held = run.agg.is_held("BTCUSDT")
        closed_live = [c for c in run.closed if c.symbol == "BTCUSDT"]
    stats = run.sim.stats()
    assert stats.get("error_-1003", 0) == 0  # never over the limit: no 429
    assert state.status == "backfilling" and held  # waits for the next window, minutes held
    assert closed_live == []  # nothing closed while trades of those minutes are missing
    assert run.fetcher is not None
    # aggTrades twice (weight 2 each), then historicalTrades pages (25 each) up to 280.
    assert 2 + 8 <= run.fetcher.requests <= 2 + 11


async def test_agg_trades_fill_gaps_when_historical_trades_fails():
    faults = FaultConfig(
        drop_every_s=0.7,
        malformed_probability=0.01,
        server_error_probability=1.0,
        rest_faults_on="all",
        rest_fault_paths=("historicalTrades",),
    )
    async with running(config(faults=faults), ("BTCUSDT",), fetcher_kwargs=FAST_RETRIES) as run:
        await run.live()
        await asyncio.sleep(3.0)
        state = run.feed.states()["BTCUSDT"]
    assert run.feed.reconnects >= 2
    assert run.sim.stats()["injected_500"] >= 2  # historicalTrades was tried and failed
    assert state.backfilled_trades > 0 and state.unfilled_gaps == 0
    ids = run.delivered_ids("BTCUSDT")
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    run.check_candles("BTCUSDT", min_live=4)
    assert all(c.complete for c in run.agg.history("BTCUSDT"))


async def test_a_429_is_retried_only_after_its_retry_after():
    faults = FaultConfig(
        rate_limit_probability=1.0,
        retry_after_s=1,
        rest_faults_on="all",
        rest_fault_paths=("historicalTrades",),
    )
    async with Simulator(config(faults=faults)) as sim:
        client = AsyncClient("K", "S", testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        fetcher = TradeFetcher(client, retries=3, retry_delay_s=0.01)
        first = sim.trades("BTCUSDT")[0].id
        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.create_task(fetcher.trades("BTCUSDT", first, first + 9))
        await asyncio.sleep(0.3)
        sim.faults.config = FaultConfig()  # the next request will be served
        try:
            ticks = await asyncio.wait_for(task, 5)
        finally:
            await client.close_connection()
        assert loop.time() - started >= 1.0  # waited the Retry-After, not 0.01 s
        assert sim.stats()["injected_429"] == 1  # no request sent during the wait
        assert [t.trade_id for t in ticks] == list(range(first, first + 10))
