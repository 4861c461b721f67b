"""Simulator memory over a long run at high speed: RSS samples while the market runs.

.venv/bin/python -m bench.simulator_memory [--seconds 120] [--speed 600] [--every 10]
    [--max-trades N] [--max-candles N]

The simulator runs in this process (as in the service's `--simulate` mode), with one stream
client subscribed to both symbols' trades, so every trade is generated, kept and sent. It prints
the process RSS, the trades and candles kept, and the trades released so far, every `--every`
real seconds. With the default bounded windows the RSS levels off once the trade window is
full; `--max-trades 2000000 --max-candles 100000000` shows the growth of an unbounded run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import aiohttp

from simulator import Simulator, SimulatorConfig


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _consume(url: str, stop: asyncio.Event) -> int:
    frames = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.receive(), 1.0)
            except TimeoutError:
                continue
            frames += 1
    return frames


async def run(args: argparse.Namespace) -> None:
    config = SimulatorConfig(
        speed=args.speed,
        trade_rate=args.trade_rate,
        history_minutes=60,
        max_trades_per_symbol=args.max_trades,
        max_candles_per_symbol=args.max_candles,
    )
    out = sys.stdout
    out.write(
        f"simulator memory: speed x{args.speed:g}, {args.trade_rate:g} trades/s/symbol "
        f"(market), {len(config.symbols)} symbols, caps {args.max_trades} trades / "
        f"{args.max_candles} candles per symbol\n"
    )
    out.write("  real_s   rss_mb  trades_kept  candles_kept  trades_released  market_minutes\n")
    stop = asyncio.Event()
    async with Simulator(config) as sim:
        url = f"{sim.stream_url}stream?streams=btcusdt@trade/ethusdt@trade"
        consumer = asyncio.create_task(_consume(url, stop))
        start = time.monotonic()
        first_ms = sim.clock.now_ms()
        try:
            while True:
                sim.state.advance()
                tapes = sim.state.tapes.values()
                kept = sum(len(t.trades) for t in tapes)
                candles = sum(len(t.candles) for t in tapes)
                released = sum(t.last_id() - 1_000_000 + 1 for t in tapes)
                elapsed = time.monotonic() - start
                minutes = (sim.clock.now_ms() - first_ms) / 60_000
                out.write(
                    f"  {elapsed:6.0f}  {rss_mb():7.1f}  {kept:11d}  {candles:12d}  "
                    f"{released:15d}  {minutes:14.0f}\n"
                )
                out.flush()
                if elapsed >= args.seconds:
                    break
                await asyncio.sleep(args.every)
        finally:
            stop.set()
            frames = await consumer
    out.write(f"stream frames received: {frames}\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--speed", type=float, default=600.0)
    p.add_argument("--trade-rate", type=float, default=2.0)
    p.add_argument("--every", type=float, default=10.0)
    p.add_argument("--max-trades", type=int, default=SimulatorConfig.max_trades_per_symbol)
    p.add_argument("--max-candles", type=int, default=SimulatorConfig.max_candles_per_symbol)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
