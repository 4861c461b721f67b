"""WebSocket fan-out: N clients on 127.0.0.1 receiving broadcasts from the real service.

The server (bench/_server.py: the real app and hub, exchange unreachable) publishes R signal
events a second, each stamped with CLOCK_MONOTONIC; every client measures delivery latency at
the moment the frame's bytes are read from its socket (bench/_wsclient.py; `--client
websockets` uses the `websockets` library, timestamping when its recv() returns).
The clients run in `--procs` separate processes, and their CPU is printed next to the server's
so that a saturated client side is visible. Every message is parsed and its per-connection
`seq` checked. Prints p50/p99/max latency, seq gaps, slow clients dropped, CPU, load average,
and the server's own time per event to hand it to every client (wall and CPU).
Goal: 1,000 clients at 10 messages/s each with p99 <= 50 ms.

    .venv/bin/python -m bench.ws_fanout [--clients 1000] [--rate 10] [--seconds 20] [--procs 2]
        [--client raw|websockets] [--ws websockets-sansio|websockets] [--gc app|python-default]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from bench._wsclient import RawWsClient, open_client

ROOT = Path(__file__).resolve().parent.parent
CONNECT_BATCH = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_times(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process in seconds, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Stats:
    def __init__(self) -> None:
        self.measuring = False
        self.latencies_ms: list[float] = []
        self.messages = 0
        self.seq_gaps = 0
        self.lost = 0

    def receiver(self) -> Callable[[bytes | str, int], None]:
        """A connection's message handler: checks the shape and seq, records signal latency."""
        last_seq = 0

        def on_text(raw: bytes | str, read_ns: int) -> None:
            nonlocal last_seq
            msg = orjson.loads(raw)
            seq = msg["seq"]
            if seq != last_seq + 1:
                self.seq_gaps += 1
            last_seq = seq
            if self.measuring:
                self.messages += 1
                if msg["type"] == "signal":
                    self.latencies_ms.append((read_ns - msg["data"]["sent_ns"]) / 1e6)

        return on_text


async def library_client(url: str, stats: Stats, stop: asyncio.Event) -> None:
    on_text = stats.receiver()
    try:
        async with connect(url, max_size=None, compression=None, open_timeout=60) as ws:
            async for raw in ws:
                on_text(raw, time.monotonic_ns())
    except Exception:
        pass
    if not stop.is_set():
        stats.lost += 1


async def worker(args: argparse.Namespace) -> None:
    """A client process: `--clients` connections; latencies measured in a shared window."""
    _raise_fd_limit(args.clients)
    stats = Stats()
    stop = asyncio.Event()
    raw: list[RawWsClient] = []
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, args.clients, CONNECT_BATCH):
        n = min(CONNECT_BATCH, args.clients - start)
        if args.client == "raw":
            opened = await asyncio.gather(
                *(open_client("127.0.0.1", args.port, "/ws", stats.receiver()) for _ in range(n)),
                return_exceptions=True,
            )
            raw += [c for c in opened if isinstance(c, RawWsClient)]
            stats.lost += sum(1 for c in opened if not isinstance(c, RawWsClient))
        else:
            url = f"ws://127.0.0.1:{args.port}/ws"
            tasks += [asyncio.create_task(library_client(url, stats, stop)) for _ in range(n)]
            await asyncio.sleep(0.05)
    await asyncio.sleep(max(0.0, args.start_at - time.monotonic()))
    cpu0 = cpu_seconds(os.getpid())
    stats.measuring = True
    await asyncio.sleep(args.seconds)
    stats.measuring = False
    cpu = cpu_seconds(os.getpid()) - cpu0
    stats.lost += sum(1 for c in raw if c.closed.done())
    result = {
        "latencies": stats.latencies_ms,
        "messages": stats.messages,
        "gaps": stats.seq_gaps,
        "lost": stats.lost,
        "cpu": cpu,
    }
    await asyncio.to_thread(Path(args.out).write_bytes, orjson.dumps(result))
    stop.set()
    for client in raw:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _raise_fd_limit(clients: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, clients * 2 + 100)), hard))


async def _wait_healthy(http: httpx.AsyncClient, port: int) -> None:
    for _ in range(300):
        try:
            await http.get(f"http://127.0.0.1:{port}/health")
            return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise SystemExit("bench server did not start")


async def run(args: argparse.Namespace) -> None:
    load_before = load_average()
    port = free_port()
    stats_path = Path(f"/tmp/ws_fanout_{os.getpid()}_server.json")
    cmd = [sys.executable, "-m", "bench._server", "--port", str(port),
           "--broadcast", str(args.rate), "--warm-minutes", "10", "--ws", args.ws,
           "--gc", args.gc, "--stats-out", str(stats_path),
           "--duration", str(args.seconds + 180)]  # fmt: skip
    server = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT)
    workers: list[tuple[asyncio.subprocess.Process, Path]] = []
    try:
        async with httpx.AsyncClient() as http:
            await _wait_healthy(http, port)
            started = time.monotonic()
            window_at = started + 5 + args.clients / 100
            share, extra = divmod(args.clients, args.procs)
            for n in range(args.procs):
                out_path = Path(f"/tmp/ws_fanout_{os.getpid()}_{n}.json")
                wcmd = [sys.executable, "-m", "bench.ws_fanout", "--worker",
                        "--port", str(port), "--client", args.client,
                        "--clients", str(share + (1 if n < extra else 0)),
                        "--start-at", str(window_at), "--seconds", str(args.seconds),
                        "--out", str(out_path)]  # fmt: skip
                workers.append((await asyncio.create_subprocess_exec(*wcmd, cwd=ROOT), out_path))
            connected = 0.0
            while time.monotonic() < window_at:
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                connected = _metric(text, "ws_clients")
                if connected >= args.clients:
                    break
                await asyncio.sleep(0.2)
            sys.stdout.write(
                f"{int(connected)} clients connected in {time.monotonic() - started:.1f}s"
                f" ({args.procs} client processes, {args.client} client)\n"
            )
            await asyncio.sleep(max(0.0, window_at - time.monotonic()))
            cpu0, t0 = cpu_times(server.pid), time.monotonic()
            await asyncio.sleep(args.seconds)
            cpu1, t1 = cpu_times(server.pid), time.monotonic()
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            results: list[dict[str, Any]] = []
            for proc, result_path in workers:
                await asyncio.wait_for(proc.wait(), 60)
                results.append(orjson.loads(result_path.read_bytes()))
                result_path.unlink()
    finally:
        for proc, _ in workers:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
    rows = orjson.loads(await asyncio.to_thread(stats_path.read_bytes))
    await asyncio.to_thread(stats_path.unlink)
    fanouts = [r for r in rows if t0 <= r[0] <= t1]
    server_cpu = (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
    _report(args, results, text, t1 - t0, server_cpu, load_before, fanouts)


def _report(
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    text: str,
    elapsed: float,
    server_cpu: tuple[float, float],
    load_before: str,
    fanouts: list[list[float]],
) -> None:
    lat: list[float] = []
    for r in results:
        lat += r["latencies"]
    total = {k: sum(float(r[k]) for r in results) for k in ("messages", "gaps", "lost", "cpu")}
    client_cpu = " + ".join(f"{100 * float(r['cpu']) / elapsed:.0f}%" for r in results)
    expected = int(args.clients * args.rate * elapsed)
    p99 = percentile(lat, 0.99) if lat else float("inf")
    out = [
        f"clients {args.clients}, rate {args.rate:g} msg/s each, measured {elapsed:.1f}s"
        f" (server: ws={args.ws}, gc={args.gc})",
        f"signal messages received {len(lat)} (expected about {expected}),"
        f" seq gaps {int(total['gaps'])}",
        f"delivery latency ms: p50 {percentile(lat, 0.5):.2f}  p99 {p99:.2f}  max {max(lat):.2f}"
        if lat
        else "no messages",
        f"CPU (one core = 100%): server {100 * sum(server_cpu) / elapsed:.0f}%"
        f" (user {100 * server_cpu[0] / elapsed:.0f}%,"
        f" system {100 * server_cpu[1] / elapsed:.0f}%),"
        f" clients {client_cpu}; server event-loop lag max"
        f" {1000 * _metric(text, 'event_loop_lag_max_seconds'):.1f} ms",
        "server fan-out of one event to every client (publish -> last send), ms:"
        f" wall p50 {percentile([f[1] for f in fanouts], 0.5):.1f}"
        f" p99 {percentile([f[1] for f in fanouts], 0.99):.1f},"
        f" CPU p50 {percentile([f[2] for f in fanouts], 0.5):.1f}"
        f" p99 {percentile([f[2] for f in fanouts], 0.99):.1f} ({len(fanouts)} events)",
        f"slow clients dropped (1013): {int(_metric(text, 'ws_slow_clients_dropped_total'))}"
        f", connections lost: {int(total['lost'])}",
        f"load average (1/5/15 min) before {load_before}, after {load_average()}"
        f" on {os.cpu_count()} cores",
        f"goal p99 <= 50 ms: {'met' if p99 <= 50 else 'NOT met'}",
    ]
    sys.stdout.write("\n".join(out) + "\n")


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
    parser.add_argument("--client", choices=("raw", "websockets"), default="raw")
    parser.add_argument(
        "--ws", choices=("websockets-sansio", "websockets"), default="websockets-sansio"
    )
    parser.add_argument(
        "--gc", choices=("app", "python-default"), default="app", help="the server's GC settings"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    asyncio.run(worker(parsed) if parsed.worker else run(parsed))
