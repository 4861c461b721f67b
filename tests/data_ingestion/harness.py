"""A running simulator + python-binance client + real TradeFeed + CandleAggregator, for tests.

Only the exchange is stood in for (the simulator, over loopback sockets); everything of ours is
the real thing. `Run.check_candles` compares our closed minutes with the simulator's klines.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from binance import AsyncClient

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle, CandleSource
from aggregation.timer import CloseTimer
from aggregation.warmup import kline_to_candle, warm_up_from_rest
from core.clock import SimulatedClock
from data_ingestion.backfill import TradeFetcher
from data_ingestion.backoff import Backoff
from data_ingestion.feed import TradeFeed
from data_ingestion.models import Tick
from simulator import Simulator, SimulatorConfig

SPEED = 120.0  # a market minute in 0.5 s real
GRACE_MS = 60_000  # 0.5 s real at SPEED: room for a loop stall on the shared CPU


def nine(row: list[Any]) -> list[Any]:
    """The nine kline fields, decimals as Decimal."""
    return [
        Decimal(row[i]) if isinstance(row[i], str) else row[i] for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)
    ]


@dataclass
class Run:
    sim: Simulator
    client: AsyncClient
    agg: CandleAggregator
    feed: TradeFeed
    closed: list[Candle] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    fetcher: TradeFetcher | None = None  # the feed's, when the test configured it

    async def wait_for(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not cond():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; states {self.feed.states()}")
            await asyncio.sleep(0.02)

    async def live(self, timeout: float = 5.0) -> None:
        await self.wait_for(
            lambda: (
                bool(self.feed.states())
                and all(s.status == "live" for s in self.feed.states().values())
                and not any(self.agg.is_held(s) for s in self.feed.symbols())
            ),
            timeout,
            "every symbol live",
        )

    def delivered_ids(self, symbol: str) -> list[int]:
        return [t.trade_id for t in self.ticks if t.symbol == symbol]

    def check_candles(self, symbol: str, min_live: int, allow_incomplete: bool = False) -> None:
        """History has no hole and no double; every live minute equals the simulator's kline."""
        history = self.agg.history(symbol)
        times = [c.open_time for c in history]
        assert times == list(range(times[0], times[-1] + 1, 60_000)), f"{symbol}: hole/double"
        live = [c for c in history if c.source is not CandleSource.WARMUP]
        assert len(live) >= min_live, f"{symbol}: only {len(live)} live minutes"
        theirs = {row[0]: row for row in self.sim.klines(symbol)}
        for c in live:
            if c.complete:
                assert nine(c.to_kline_row()) == nine(theirs[c.open_time]), c
            else:
                assert allow_incomplete, f"incomplete minute {c}"
        assert self.agg.late_trades_of(symbol) == 0


@contextlib.asynccontextmanager
async def running(
    cfg: SimulatorConfig,
    symbols: tuple[str, ...],
    warm: int | None = 10,  # None: no warm-up
    start_sim: bool = True,
    warm_oldest: bool = False,
    fetcher_kwargs: dict[str, Any] | None = None,
    **feed_kwargs: Any,
) -> AsyncIterator[Run]:
    """Simulator (started unless told not to), client, aggregator warmed up, feed, close timer.

    `warm` closed klines per symbol seed the aggregator: the latest ones, or with
    `warm_oldest` the simulator's first ones (so the feed's REST start has a long way to go).
    """
    sim = Simulator(cfg)
    if start_sim:
        await sim.start()
    client = AsyncClient(cfg.api_key, cfg.api_secret, testnet=True)
    if start_sim:
        client.API_TESTNET_URL = sim.rest_url
    closed: list[Candle] = []
    ticks: list[Tick] = []
    agg = CandleAggregator(history=1440, grace_ms=GRACE_MS, on_close=closed.append)
    feed_kwargs.setdefault("backoff", Backoff(initial=0.05, cap=0.3))
    feed_kwargs.setdefault("healthy_s", 0.5)
    feed_kwargs.setdefault("silence_hold_s", 0.2)
    stream_url = sim.stream_url if start_sim else feed_kwargs.pop("stream_url")

    def on_tick(tick: Tick) -> None:
        ticks.append(tick)
        agg.add_tick(tick)

    if fetcher_kwargs is not None:
        feed_kwargs["fetcher"] = TradeFetcher(client, **fetcher_kwargs)
    clock = SimulatedClock(sim.clock.now_ms, sim.clock.speed)
    closer = CloseTimer(clock, agg)  # the feed's gate: closes quiet minutes on the clock
    feed = TradeFeed(
        client, symbols, on_tick, clock=clock, gate=closer, stream_url=stream_url, **feed_kwargs
    )
    run = Run(sim, client, agg, feed, closed, ticks, feed_kwargs.get("fetcher"))
    for symbol in symbols:
        if warm is None:
            break
        if warm_oldest:
            rows = await client.get_klines(symbol=symbol, interval="1m", startTime=0, limit=warm)
            candles = [kline_to_candle(symbol, row) for row in rows]
        else:
            candles = await warm_up_from_rest(client, symbol, warm)
        assert agg.warm_up(symbol, candles) == warm
    closer.start()
    await run.feed.start()
    try:
        yield run
    finally:
        await run.feed.stop()
        closer.stop()
        await client.close_connection()
        await sim.stop()


def config(**kwargs: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "seed": 5,
        "speed": SPEED,
        "symbols": ("BTCUSDT", "ETHUSDT"),
        "api_key": "K",
        "api_secret": "S",
        "history_minutes": 30,
    }
    base.update(kwargs)
    return SimulatorConfig(**base)
