"""python-binance's error messages do not end the feed: it backs off, reconnects, catches up.

Unable to connect (nothing listens yet, then the simulator comes up on that port) and queue
overflow (python-binance's read loop ends and leaves an error message), over real sockets.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket

import pytest

from data_ingestion.backoff import Backoff
from data_ingestion.stream_supervisor import SIMULATE_HINT
from tests.data_ingestion.harness import config, running

pytestmark = pytest.mark.e2e  # a real server on loopback with real waits (not in the fast lane)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unable_to_connect_backs_off_then_goes_live_when_the_simulator_comes_up(caplog):
    caplog.set_level(logging.WARNING, logger="data_ingestion.stream_supervisor")
    port = _free_port()
    backoff = Backoff(initial=0.05, factor=2.0, cap=0.4, jitter=0.0)
    url = f"ws://127.0.0.1:{port}/"
    async with running(
        config(), ("BTCUSDT",), warm=None, start_sim=False, stream_url=url, backoff=backoff
    ) as run:
        await run.wait_for(lambda: backoff.attempts >= 4, 5.0, "four failed connects")
        assert run.feed.states()["BTCUSDT"].status == "reconnecting"
        assert run.agg.is_held("BTCUSDT")
        assert "connect failed" in (run.feed.last_error or "")
        lines = [r.getMessage() for r in caplog.records if "unable to connect" in r.getMessage()]
        assert len(lines) >= 4 and all(SIMULATE_HINT in line for line in lines)
        assert "--simulate" in SIMULATE_HINT
        delays = [float(re.findall(r"in ([0-9.]+)s", line)[0]) for line in lines]
        assert delays[:4] == [0.1, 0.1, 0.2, 0.4]  # 0.05, 0.1, 0.2, 0.4 printed with one decimal
        assert max(delays) <= 0.4  # capped

        await run.sim.start(port=port)
        run.client.API_TESTNET_URL = run.sim.rest_url
        await run.live(timeout=5.0)
        await asyncio.sleep(1.5)
        assert run.ticks
    ids = run.delivered_ids("BTCUSDT")
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    run.check_candles("BTCUSDT", min_live=2)


async def test_queue_overflow_ends_python_binances_read_loop_not_the_feed():
    async with running(config(), ("BTCUSDT", "ETHUSDT"), max_queue_size=0) as run:
        # A queue that holds nothing: python-binance's read loop overflows on the first frame,
        # reports BinanceWebsocketQueueOverflow and ends; every socket dies the same way.
        await run.wait_for(lambda: run.feed.reconnects >= 3, 5.0, "three overflows")
        assert "BinanceWebsocketQueueOverflow" in (run.feed.last_error or "")
        run.feed.stream.max_queue_size = 10_000  # the next socket keeps up
        await run.live(timeout=5.0)
        await asyncio.sleep(1.5)
    for symbol in ("BTCUSDT", "ETHUSDT"):
        ids = run.delivered_ids(symbol)
        assert ids == list(range(ids[0], ids[0] + len(ids)))  # what the overflows lost: REST
        run.check_candles(symbol, min_live=3)
        assert all(c.complete for c in run.agg.history(symbol))
