"""The benchmarks' server: the real service and API on 127.0.0.1, fed synthetic load.

The exchange is unreachable on purpose (paper mode, a closed loopback port), so the only load is
what this module makes: `--broadcast R` publishes R `signal` events a second on the hub (each
carrying its send time, CLOCK_MONOTONIC, shared by processes on Linux); `--ingest N` pushes N
synthetic trades a second through the real pipeline (aggregator, strategy, hub), one market
minute per real second. Runs until SIGINT/SIGTERM or `--duration` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import socket
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import orjson
import uvicorn
from binance import AsyncClient

from aggregation.models import Candle, CandleSource
from api.app import create_app
from config import load_settings
from core.clock import MINUTE_MS, ManualClock
from core.hub import SIGNAL, Event
from data_ingestion.models import Tick
from execution.rules import SymbolRules
from service.components import apply_rules
from service.container import Service
from wiring import compose

PAD = "x" * 200  # a signal-sized message


def quiet_service(journal: Path, ws_queue: int, clock: ManualClock) -> Service:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    settings = load_settings(
        env_file=None,
        journal_path=journal,
        binance_api_key=None,
        binance_api_secret=None,
        api_token=None,
        ws_client_queue=ws_queue,
        binance_rest_url=f"http://127.0.0.1:{dead_port}/api",
    )
    client = AsyncClient(None, None, testnet=True)
    client.API_TESTNET_URL = settings.binance_rest_url
    return compose.build_service(
        settings,
        mode="paper",
        clock=clock,
        client=client,
        stream_url=f"ws://127.0.0.1:{dead_port}/",
    )


class BroadcastTimes:
    """Per broadcast: [start (monotonic s), wall ms, CPU ms] from the publish until every
    client's sender has run once. The hub wakes them all in one loop turn; a callback queued
    right after the publish runs after them, so it marks the end of the fan-out."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, float]] = []

    def done(self, start_ns: int, cpu_ns: int) -> None:
        wall = (time.monotonic_ns() - start_ns) / 1e6
        self.rows.append((start_ns / 1e9, wall, (time.process_time_ns() - cpu_ns) / 1e6))


async def broadcast(service: Service, rate: float, times: BroadcastTimes) -> None:
    loop = asyncio.get_running_loop()
    interval = 1.0 / rate
    n = 0
    next_at = time.monotonic()
    while True:
        n += 1
        sent_ns, cpu_ns = time.monotonic_ns(), time.process_time_ns()
        data = {"n": n, "sent_ns": sent_ns, "pad": PAD}
        service.hub.publish(Event(SIGNAL, data, "BTCUSDT", service.clock.now_ms()))
        loop.call_soon(times.done, sent_ns, cpu_ns)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def warm(service: Service, clock: ManualClock, minutes: int) -> None:
    start = clock.now_ms() - minutes * MINUTE_MS
    one = Decimal(1)
    candles = [
        Candle(
            "BTCUSDT",
            start + i * MINUTE_MS,
            Decimal(60000 + i),
            Decimal(60010 + i),
            Decimal(59990 + i),
            Decimal(60005 + i),
            one,
            Decimal(60000),
            10,
            one,
            one,
            True,
            CandleSource.WARMUP,
        )
        for i in range(minutes)
    ]
    service.pipeline.warm_up("BTCUSDT", candles)


async def ingest(service: Service, clock: ManualClock, per_second: int) -> None:
    """`per_second` trades a second in 500 small batches (the live feed hands over trades frame
    by frame, so requests interleave with them); market time runs 60x (a minute a second)."""
    batch = max(1, per_second // 500)
    trade_id = 0
    market_ms = clock.now_ms()
    next_at = time.monotonic()
    step_ms = max(1, 120 // batch)  # 60 market seconds spread over 500 batches a second
    while True:
        for _ in range(batch):
            trade_id += 1
            market_ms += step_ms
            price = Decimal(60000 + (trade_id % 500)) / 1
            tick = Tick("BTCUSDT", trade_id, price, Decimal("0.001"), market_ms, trade_id % 2 == 0)
            clock.set(market_ms)
            service.pipeline.on_tick(tick)
        next_at += 0.002
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def start_trading(service: Service) -> None:
    """Paper trading without exchangeInfo: rules as the testnet's BTCUSDT, then recovery."""
    rules = SymbolRules(
        "BTCUSDT", "BTC", "USDT", tick_size=Decimal("0.01"), step_size=Decimal("0.00001"),
        min_qty=Decimal("0.00001"), max_qty=Decimal("9000"), min_notional=Decimal("5"),
    )  # fmt: skip
    service.rules["BTCUSDT"] = rules
    await apply_rules(service.parts.broker, service.rules)
    await service.executor.start()
    service.trading_ready = True


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.ERROR)
    clock = ManualClock(int(time.time() * 1000) // MINUTE_MS * MINUTE_MS)
    with tempfile.TemporaryDirectory() as tmp:
        service = quiet_service(Path(tmp) / "journal.jsonl", args.ws_queue, clock)
        app = create_app(service)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=args.port,
            ws=args.ws,
            ws_per_message_deflate=False,
            log_config=None,
            access_log=False,
            backlog=4096,
        )
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.01)
        warm(service, clock, args.warm_minutes)
        await start_trading(service)
        if args.gc == "python-default":  # undo api.app.server_gc, for comparison
            gc.unfreeze()
            gc.set_threshold(700, 10, 10)
        load: list[asyncio.Task[None]] = []
        times = BroadcastTimes()
        if args.broadcast:
            load.append(asyncio.create_task(broadcast(service, args.broadcast, times)))
        if args.ingest:
            load.append(asyncio.create_task(ingest(service, clock, args.ingest)))
        try:
            await asyncio.wait_for(asyncio.shield(task), args.duration)
        except TimeoutError:
            server.should_exit = True
            await task
        finally:
            for t in load:
                t.cancel()
            await asyncio.gather(*load, return_exceptions=True)
            if args.stats_out:
                await asyncio.to_thread(Path(args.stats_out).write_bytes, orjson.dumps(times.rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broadcast", type=float, default=0.0, help="signal events per second")
    parser.add_argument("--ingest", type=int, default=0, help="synthetic trades per second")
    parser.add_argument("--ws-queue", type=int, default=1000)
    parser.add_argument("--warm-minutes", type=int, default=1440)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument(
        "--ws", choices=("websockets-sansio", "websockets"), default="websockets-sansio"
    )
    parser.add_argument("--gc", choices=("app", "python-default"), default="app")
    parser.add_argument("--stats-out", help="write the broadcast times here (JSON) at exit")
    parsed = parser.parse_args()
    asyncio.run(main(parsed))
