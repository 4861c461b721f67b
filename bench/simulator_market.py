"""Simulator market-data figures: REST latency of depth/klines/tickers, CPU of market streams.

.venv/bin/python -m bench.simulator_market
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import aiohttp

from simulator import Simulator, SimulatorConfig

CALLS: list[tuple[str, dict[str, str]]] = [
    ("depth", {"symbol": "BTCUSDT", "limit": "100"}),
    ("depth", {"symbol": "BTCUSDT", "limit": "1000"}),
    ("klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "1000"}),
    ("klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "1000"}),
    ("klines", {"symbol": "BTCUSDT", "interval": "1s", "limit": "1000"}),
    ("ticker/24hr", {}),
    ("ticker", {"symbol": "BTCUSDT", "windowSize": "7d"}),
    ("ticker/bookTicker", {}),
]
STREAMS = [
    "btcusdt@depth@100ms",
    "btcusdt@depth20@100ms",
    "btcusdt@bookTicker",
    "btcusdt@kline_1s",
    "btcusdt@kline_1m",
    "btcusdt@kline_1M",
    "btcusdt@ticker",
    "!miniTicker@arr",
    "ethusdt@depth",
    "ethusdt@kline_5m",
]


async def _rest(session: aiohttp.ClientSession, base: str) -> None:
    for path, params in CALLS:
        took = []
        for _ in range(20):
            start = time.perf_counter()
            async with session.get(f"{base}/v3/{path}", params=params) as response:
                await response.read()
            took.append((time.perf_counter() - start) * 1000)
        label = path + " " + " ".join(f"{k}={v}" for k, v in params.items() if k != "symbol")
        print(f"  {label:<40} median {statistics.median(took):6.2f} ms  max {max(took):6.2f} ms")


async def _cpu(session: aiohttp.ClientSession, sim: Simulator, seconds: float) -> None:
    idle_start = time.process_time()
    await asyncio.sleep(seconds)
    idle = (time.process_time() - idle_start) / seconds
    frames = 0
    async with session.ws_connect(sim.stream_url + "ws/0") as ws:
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": STREAMS, "id": 1}))
        start, cpu_start = time.monotonic(), time.process_time()
        while time.monotonic() - start < seconds:
            await ws.receive(timeout=5)
            frames += 1
        busy = (time.process_time() - cpu_start) / seconds
    print(f"  CPU (simulator + this client), no subscription: {idle:.3f} s per real s")
    print(f"  CPU with {len(STREAMS)} market streams: {busy:.3f} s per real s, {frames} frames")


async def main() -> None:
    config = SimulatorConfig(seed=1, speed=60.0, history_minutes=7 * 24 * 60 // 4)
    built = time.perf_counter()
    async with Simulator(config) as sim, aiohttp.ClientSession() as session:
        print(f"simulator with {config.history_minutes} min of history, speed x{config.speed:g}")
        print(f"  built in {time.perf_counter() - built:.1f} s")
        await _rest(session, sim.rest_url)
        await _cpu(session, sim, 5.0)


if __name__ == "__main__":
    asyncio.run(main())
