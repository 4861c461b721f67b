"""WebSocket fan-out: N clients on 127.0.0.1 receiving broadcasts from the real service.

The server (bench/_server.py: the real app and hub, exchange unreachable) publishes R signal
events a second, each stamped with CLOCK_MONOTONIC; every client measures delivery latency.
Prints p50/p99/max latency, messages lost, slow clients dropped and the server's CPU.
Goal: 1,000 clients at 10 messages/s each with p99 <= 50 ms.

    .venv/bin/python -m bench.ws_fanout [--clients 1000] [--rate 10] [--seconds 20] [--procs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sys
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Stats:
    def __init__(self) -> None:
        self.measuring = False
        self.latencies_ms: list[float] = []
        self.received = 0
        self.closed_early = 0


async def client(url: str, stats: Stats, stop: asyncio.Event) -> None:
    try:
        async with connect(url, max_size=None, compression=None, open_timeout=60) as ws:
            while not stop.is_set():
                raw = await ws.recv()
                now = time.monotonic_ns()
                if not stats.measuring:
                    continue
                msg = orjson.loads(raw)
                if msg["type"] == "signal":
                    stats.latencies_ms.append((now - msg["data"]["sent_ns"]) / 1e6)
    except Exception:
        if not stop.is_set():
            stats.closed_early += 1


async def worker(args: argparse.Namespace) -> None:
    """A client process: `--clients` connections; latencies measured in a shared window."""
    _raise_fd_limit(args.clients)
    stats = Stats()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(client(args.url, stats, stop)) for _ in range(args.clients)]
    await asyncio.sleep(max(0.0, args.start_at - time.monotonic()))
    stats.measuring = True
    await asyncio.sleep(args.seconds)
    stats.measuring = False
    result = orjson.dumps({"latencies": stats.latencies_ms, "lost": stats.closed_early})
    await asyncio.to_thread(Path(args.out).write_bytes, result)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _raise_fd_limit(clients: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, clients * 2 + 100)), hard))


async def run(args: argparse.Namespace) -> None:
    _raise_fd_limit(args.clients)
    port = free_port()
    cmd = [sys.executable, "-m", "bench._server", "--port", str(port),
           "--broadcast", str(args.rate), "--warm-minutes", "10",
           "--duration", str(args.seconds + 120)]  # fmt: skip
    server = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT)
    stop = asyncio.Event()
    stats = Stats()
    tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    await http.get(f"http://127.0.0.1:{port}/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            url = f"ws://127.0.0.1:{port}/ws"
            started = time.monotonic()
            # Client processes (the clients' own CPU must not be the bottleneck): this one
            # and `--procs - 1` workers, each holding its share of the connections.
            share = args.clients // args.procs
            window_at = time.monotonic() + 10 + args.clients / 200
            workers: list[tuple[asyncio.subprocess.Process, Path]] = []
            for n in range(args.procs - 1):
                out_path = Path(f"/tmp/ws_fanout_{os.getpid()}_{n}.json")
                wcmd = [sys.executable, "-m", "bench.ws_fanout", "--worker", "--url", url,
                        "--clients", str(share), "--start-at", str(window_at),
                        "--seconds", str(args.seconds), "--out", str(out_path)]  # fmt: skip
                workers.append((await asyncio.create_subprocess_exec(*wcmd, cwd=ROOT), out_path))
            for i in range(args.clients - share * (args.procs - 1)):
                tasks.append(asyncio.create_task(client(url, stats, stop)))
                if i % 50 == 49:
                    await asyncio.sleep(0.05)
            while True:
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                connected = _metric(text, "ws_clients")
                if connected >= args.clients or time.monotonic() - started > 60:
                    break
                await asyncio.sleep(0.2)
            sys.stdout.write(
                f"{int(connected)} clients connected in {time.monotonic() - started:.1f}s\n"
            )
            await asyncio.sleep(max(0.0, window_at - time.monotonic()))
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            stats.measuring = True
            await asyncio.sleep(args.seconds)
            stats.measuring = False
            cpu1, t1 = cpu_seconds(server.pid), time.monotonic()
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            for proc, result_path in workers:
                await asyncio.wait_for(proc.wait(), 60)
                result = orjson.loads(result_path.read_bytes())
                result_path.unlink()
                stats.latencies_ms += result["latencies"]
                stats.closed_early += result["lost"]
            stats.received = len(stats.latencies_ms)
        expected = int(args.clients * args.rate * (t1 - t0))
        lat = stats.latencies_ms
        out = [
            f"clients {args.clients}, rate {args.rate:g} msg/s each, measured {t1 - t0:.1f}s",
            f"messages received {stats.received} (expected about {expected})",
            f"delivery latency ms: p50 {percentile(lat, 0.5):.2f}  p99 {percentile(lat, 0.99):.2f}"
            f"  max {max(lat):.2f}"
            if lat
            else "no messages",
            f"server CPU {100 * (cpu1 - cpu0) / (t1 - t0):.0f}% of one core, event-loop lag max"
            f" {1000 * _metric(text, 'event_loop_lag_max_seconds'):.1f} ms",
            f"slow clients dropped (1013): {int(_metric(text, 'ws_slow_clients_dropped_total'))}"
            f", connections lost: {stats.closed_early}",
            f"goal p99 <= 50 ms: {'met' if lat and percentile(lat, 0.99) <= 50 else 'NOT met'}",
        ]
        sys.stdout.write("\n".join(out) + "\n")
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    asyncio.run(worker(parsed) if parsed.worker else run(parsed))
