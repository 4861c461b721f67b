"""The stream supervisor's paths, through the real TradeFeed against the simulator's sockets.

Watchdog on a silent stream, symbols added and removed at run time, planned reconnects with an
overlap. Each closed minute is checked against the simulator's own klines.
"""

from __future__ import annotations

import asyncio

import pytest

from aggregation.models import CandleSource
from aggregation.warmup import warm_up_from_rest
from simulator import FaultConfig
from tests.data_ingestion.harness import config, running

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)


def _consecutive(ids: list[int]) -> bool:
    return ids == list(range(ids[0], ids[0] + len(ids)))


async def test_watchdog_reconnects_a_silent_stream_and_nothing_is_lost():
    async with running(config(), ("BTCUSDT", "ETHUSDT"), watchdog_s=1.0) as run:
        await run.live()
        await asyncio.sleep(0.5)
        # The connection stays open (pings answered) but its next frame waits a minute: a
        # stalled upstream. REST fails too, so the silence checks cannot tell: the symbols
        # stay held until the watchdog reconnects.
        run.sim.faults.config = FaultConfig(
            frame_delay_ms=60_000, server_error_probability=1.0, rest_faults_on="all"
        )
        stalled_at = len(run.ticks)
        seen: list[int] = []

        def reconnected() -> bool:
            seen.append(len(run.ticks))
            return run.feed.reconnects >= 1

        await run.wait_for(reconnected, 4.0, "a watchdog reconnect")
        run.sim.faults.config = FaultConfig()
        assert "watchdog" in (run.feed.last_error or "")
        assert seen[-2] <= stalled_at + 4  # until the reconnect: frames in flight, no more
        await run.live()
        await asyncio.sleep(1.5)  # three more market minutes
    assert run.feed.reconnects <= 3  # the stall, maybe a delayed frame on the next socket
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert _consecutive(run.delivered_ids(symbol))  # the stall's trades came from REST
        run.check_candles(symbol, min_live=4)
        assert all(c.complete for c in run.agg.history(symbol))


async def test_silence_check_finds_a_stall_before_the_watchdog():
    async with running(config(), ("BTCUSDT", "ETHUSDT"), watchdog_s=10.0) as run:
        await run.live()
        await asyncio.sleep(0.5)
        run.sim.faults.config = FaultConfig(frame_delay_ms=60_000)
        await run.wait_for(lambda: run.feed.reconnects >= 1, 3.0, "a stall found by REST")
        run.sim.faults.config = FaultConfig()
        assert "silent while trades happened" in (run.feed.last_error or "")
        await run.live()
        await asyncio.sleep(1.0)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert _consecutive(run.delivered_ids(symbol))
        run.check_candles(symbol, min_live=3)
        assert all(c.complete for c in run.agg.history(symbol))


async def test_quiet_market_is_not_a_stall_and_its_minutes_close_on_time():
    # ~0.6 trades per real second per symbol: silences of a second or more are common.
    cfg = config(trade_rate=0.005, history_minutes=300)
    async with running(cfg, ("BTCUSDT", "ETHUSDT"), watchdog_s=10.0) as run:
        await run.live()
        await asyncio.sleep(3.0)  # six market minutes
        now_minute = run.sim.clock.now_ms() // 60_000 * 60_000
    assert run.feed.stream.quiet_checks >= 3
    assert run.feed.reconnects == 0
    for symbol in ("BTCUSDT", "ETHUSDT"):
        run.check_candles(symbol, min_live=5)
        assert all(c.complete for c in run.agg.history(symbol))
        # Closed on the clock, not held back: the open minute, one within its grace (and one
        # for a loop stall on the shared CPU) at most
        assert run.agg.history(symbol)[-1].open_time >= now_minute - 3 * 60_000


async def test_symbols_added_and_removed_at_run_time():
    cfg = config(symbols=("BTCUSDT", "ETHUSDT", "BNBUSDT"))
    async with running(cfg, ("BTCUSDT", "ETHUSDT")) as run:
        await run.live()
        await asyncio.sleep(0.7)
        # As the service does: warm up the new symbol's candles, then subscribe it.
        warm = await warm_up_from_rest(run.client, "BNBUSDT", 10, run.sim.clock.now_ms())
        run.agg.warm_up("BNBUSDT", warm)
        await run.feed.add_symbol("BNBUSDT")
        assert run.agg.is_held("BNBUSDT")  # until its stream and REST start are in
        await run.live()
        await asyncio.sleep(1.0)
        await run.feed.remove_symbol("ETHUSDT")
        removed_at = len(run.ticks)
        assert not run.agg.is_held("ETHUSDT")

        def live_minutes(symbol: str) -> int:
            return sum(1 for c in run.agg.history(symbol) if c.source is not CandleSource.WARMUP)

        # Until both have 4 live minutes (about 1.5 s; longer on a loaded machine).
        await run.wait_for(
            lambda: min(live_minutes("BTCUSDT"), live_minutes("BNBUSDT")) >= 4,
            20.0,
            "4 live minutes of BTCUSDT and BNBUSDT",
        )
        states = run.feed.states()
    assert set(states) == {"BTCUSDT", "BNBUSDT"}
    assert not [t for t in run.ticks[removed_at:] if t.symbol == "ETHUSDT"]
    assert run.feed.reconnects == 0  # symbol changes hand over; they do not drop the stream
    for symbol in ("BTCUSDT", "BNBUSDT"):
        assert _consecutive(run.delivered_ids(symbol))
        run.check_candles(symbol, min_live=4)
    # BNBUSDT continues right after its warm-up: no flat minute stands in for missed trades.
    bnb = run.agg.history("BNBUSDT")
    assert bnb[len(warm)].open_time == warm[-1].open_time + 60_000
    eth = run.delivered_ids("ETHUSDT")
    assert _consecutive(eth)


async def test_planned_reconnect_overlaps_nothing_lost_nothing_doubled():
    # A wide reorder window: frames of the two sockets interleave; a loop stall on the shared
    # CPU must not turn an interleaving into a REST backfill.
    async with running(
        config(), ("BTCUSDT", "ETHUSDT"), planned_reconnect_s=0.8, reorder_window_s=1.0
    ) as run:
        await run.live()
        connections = run.sim.stats()["stream_connections"]
        before = {s: st.backfilled_trades for s, st in run.feed.states().items()}
        await asyncio.sleep(4.0)
        states = run.feed.states()
    assert run.feed.stream.planned_reconnects >= 3
    assert run.sim.stats()["stream_connections"] >= connections + 3
    assert run.feed.reconnects == 0
    assert sum(s.duplicates for s in states.values()) > 0  # the overlap, deduplicated
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert states[symbol].backfilled_trades == before[symbol]  # the overlap left no gap
        assert _consecutive(run.delivered_ids(symbol))  # and the callback saw each id once
        run.check_candles(symbol, min_live=6)
