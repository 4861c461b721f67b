"""Simulator figures: stream throughput to python-binance, REST latency. Prints its numbers.

.venv/bin/python -m bench.simulator_throughput
"""

from __future__ import annotations

import asyncio
import statistics
import time

from binance import AsyncClient, BinanceSocketManager

from simulator import Simulator, SimulatorConfig


async def _stream(sim: Simulator, client: AsyncClient, seconds: float) -> tuple[int, int]:
    bsm = BinanceSocketManager(client, max_queue_size=100_000)
    bsm.STREAM_TESTNET_URL = sim.stream_url
    received, gaps, last = 0, 0, None
    async with bsm.multiplex_socket(["btcusdt@trade", "ethusdt@trade"]) as socket:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            msg = await socket.recv()
            received += 1
            if msg["stream"] == "btcusdt@trade":
                tid = msg["data"]["t"]
                gaps += last is not None and tid != last + 1
                last = tid
    return received, gaps


async def _latency(call, n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def main() -> None:
    config = SimulatorConfig(speed=600.0, trade_rate=5.0, history_minutes=120)
    t0 = time.perf_counter()
    sim = Simulator(config)
    build_s = time.perf_counter() - t0
    async with sim:
        client = AsyncClient(config.api_key, config.api_secret, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        try:
            seconds = 3.0
            received, gaps = await _stream(sim, client, seconds)
            ping = await _latency(client.ping, 200)
            klines = await _latency(
                lambda: client.get_klines(symbol="BTCUSDT", interval="1m", limit=500), 50
            )

            async def order() -> object:
                client.timestamp_offset = sim.clock.now_ms() - int(time.time() * 1000)
                return await client.order_market_buy(symbol="BTCUSDT", quantity="0.0001")

            orders = await _latency(order, 100)
        finally:
            await client.close_connection()
    print(f"history build (2 symbols x 120 min x 5 trades/s): {build_s * 1000:.0f} ms")
    print(
        f"stream: {received / seconds:,.0f} trade frames/s to one python-binance client "
        f"(2 symbols, speed x600, 5 trades/s each), {gaps} gaps"
    )
    for name, (median, p95) in (("ping", ping), ("klines 500", klines), ("market order", orders)):
        print(f"REST {name}: median {median:.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
