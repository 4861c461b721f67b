"""REST latency while ingesting: GET /candles/{symbol}?limit=500 against the real service while
the pipeline takes N synthetic trades a second (bench/_server.py; a market minute a second, so
candles close and the strategy runs). Prints p50/p99/max and the achieved ingest rate.
Goal: p99 <= 10 ms while ingesting 5,000 ticks/s.

    .venv/bin/python -m bench.api [--ingest 5000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "bench._server", "--port", str(port),
           "--ingest", str(args.ingest), "--duration", "600"]  # fmt: skip
    server = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(200):
                try:
                    await http.get("/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # ingest running
            ticks0 = metric((await http.get("/metrics")).text, "ticks_total{")
            t0 = time.monotonic()
            latencies: list[float] = []
            sizes = set()
            for _ in range(args.requests):
                start = time.perf_counter()
                r = await http.get("/candles/BTCUSDT", params={"limit": 500})
                latencies.append((time.perf_counter() - start) * 1000)
                r.raise_for_status()
                sizes.add(len(r.json()["candles"]))
            elapsed = time.monotonic() - t0
            text = (await http.get("/metrics")).text
            rate = (metric(text, "ticks_total{") - ticks0) / elapsed
            lag = metric(text, "event_loop_lag_max_seconds ")
        p99 = percentile(latencies, 0.99)
        out = [
            f"GET /candles/BTCUSDT?limit=500 x {args.requests}"
            f" (candles per answer: {sorted(sizes)})",
            f"latency ms: p50 {percentile(latencies, 0.5):.2f}  p99 {p99:.2f}"
            f"  max {max(latencies):.2f}",
            f"ingest: {rate:.0f} ticks/s achieved (asked {args.ingest}),"
            f" server event-loop lag max {lag * 1000:.1f} ms",
            f"goal p99 <= 10 ms: {'met' if p99 <= 10 else 'NOT met'}",
        ]
        sys.stdout.write("\n".join(out) + "\n")
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingest", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(run(parser.parse_args()))
