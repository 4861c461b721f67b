"""Decision latency: closed candle -> intent journaled (fsync) -> request handed to the broker.

    .venv/bin/python -m bench.decision [--n 300] [--burst 16]
    .venv/bin/python -m bench.decision --notify   (only: with a webhook that hangs, and without)

Paper: the time until PaperBroker.place_market is called (also with `--burst` variants
deciding on the same candle: their intents share one group-committed fsync). Simulator: the
time until python-binance's create_order is called (network excluded), and the full round trip.
Also the strategy's throughput: 525,600 candles through both variants.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from binance import AsyncClient

from aggregation.models import Candle
from config import VariantSettings
from core.clock import ManualClock, SystemClock
from execution.brokers import PaperBroker, TestnetBroker
from execution.executor import OrderExecutor
from execution.risk import RiskManager
from execution.rules import parse_symbol_rules
from simulator import Simulator, SimulatorConfig
from storage.database import Database
from storage.sql import SqlLedger
from strategy.engine import StrategyEngine
from strategy.models import Side

KEY, SECRET = "bench-key", "bench-secret"  # the simulator's own credentials for this run


def make_client(rest_url: str, timeout: float = 2.0) -> AsyncClient:
    """python-binance's client pointed at the simulator."""
    client = AsyncClient(KEY, SECRET, testnet=True, requests_params={"timeout": timeout})
    client.API_TESTNET_URL = rest_url
    return client


VARIANTS = [
    VariantSettings("A", Decimal("0.15"), 5, 10),
    VariantSettings("B", Decimal("0.10"), 5, 10),
]
ROOT = Path(__file__).resolve().parent.parent


def candle(i: int, close: Decimal) -> Candle:
    return Candle("BTCUSDT", i * 60_000, close, close, close, close, Decimal(1), close, 1,
                  Decimal(0), Decimal(0))  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def report(name: str, values_us: list[float]) -> None:
    sys.stdout.write(
        f"{name:<44} n={len(values_us):4d}  p50={pct(values_us, 50):8.0f} µs"
        f"  p99={pct(values_us, 99):8.0f} µs\n"
    )


def strategy_throughput() -> None:
    rng = random.Random(1)
    price, candles = 60000.0, []
    for i in range(525_600):
        price *= 1 + rng.gauss(0, 0.001)
        candles.append(candle(i, Decimal(f"{price:.2f}")))
    engine = StrategyEngine(VARIANTS)
    t0 = time.perf_counter()
    n = sum(len(engine.on_candle(c)) for c in candles)
    sys.stdout.write(
        f"strategy: 525,600 candles x 2 variants in {time.perf_counter() - t0:.2f} s"
        f" ({n} signals)\n"
    )


class Stamp:
    """Records when a request is handed over, keyed by client order id."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}


def _ledger(path: Path) -> SqlLedger:
    """A SQLite ledger (the default store), closed with the executor."""
    return SqlLedger(Database.open(f"sqlite:///{path}", exchange=None), owns_db=True)


async def decide_and_wait(
    executor: OrderExecutor, engine: StrategyEngine, stamp: Stamp, n: int
) -> tuple[list[float], list[float]]:
    """Feed crafted crossovers; latency from on_candle to the stamp, and to the outcome."""
    handed, full = [], []
    closes = ["100"] * 10
    i = 0
    for c in closes:
        engine.on_candle(candle(i, Decimal(c)))
        i += 1
    up = True
    level = Decimal("100")
    for _ in range(n):
        target = Decimal("130") if up else Decimal("70")
        # A nudge the other way first, so the previous EMA sits clearly on the other side.
        for s in engine.on_candle(candle(i, level - 1 if up else level + 1)):
            if s.action in ("open", "close"):
                executor.submit(s)
        await executor.wait_idle()
        i += 1
        t0 = time.perf_counter()
        sigs = [s for s in engine.on_candle(candle(i, target)) if s.action in ("open", "close")]
        for s in sigs:
            executor.submit(s)
        await executor.wait_idle()
        t_done = time.perf_counter()
        for s in sigs:
            cid_at = stamp.at.pop(f"{s.variant}:{s.ref}", None)
            if cid_at is not None:
                handed.append((cid_at - t0) * 1e6)
        full.append((t_done - t0) * 1e6)
        i += 1
        for _ in range(100):  # settle at the new level (its own crossings are traded too)
            for s in engine.on_candle(candle(i, target)):
                if s.action in ("open", "close"):
                    executor.submit(s)
            i += 1
        await executor.wait_idle()
        stamp.at.clear()
        up = not up
        level = target
    return handed, full


def _ref(cid: str) -> str:
    variant, _, _, ref36 = cid.split("-")
    return f"{variant}:{int(ref36, 36)}"


async def bench_paper(
    n: int, rules: Any, tmp: Path, variants: list[VariantSettings] = VARIANTS, label: str = "paper",
    ledger: SqlLedger | None = None,
) -> tuple[list[float], list[float]]:  # fmt: skip
    stamp = Stamp()

    class StampedPaper(PaperBroker):
        async def place_market(self, symbol: str, side: Side, quantity: Decimal, cid: str) -> Any:
            stamp.at[_ref(cid)] = time.perf_counter()
            return await super().place_market(symbol, side, quantity, cid)

    clock = ManualClock(0)
    engine = StrategyEngine(variants)
    broker = StampedPaper(lambda s: Decimal("100"), Decimal("0.001"), {"BTCUSDT": rules}, clock)
    risk = RiskManager(clock, Decimal("1e9"), Decimal("1e9"), 10**9)
    executor = OrderExecutor(broker, ledger or _ledger(tmp / f"{label}.db"), clock, risk,
                             order_quantities={"BTCUSDT": Decimal("1")},
                             on_position=engine.on_position_changed)  # fmt: skip
    await executor.start()
    handed, full = await decide_and_wait(executor, engine, stamp, n)
    await executor.stop()
    report(f"{label}: candle -> request handed to broker", handed)
    report(f"{label}: candle -> outcome journaled", full)
    return handed, full


async def bench_hanging_webhook(n: int, rules: Any, tmp: Path, hang_s: float) -> None:
    """The paper path with notifications on, to a webhook receiver on loopback that hangs for
    `hang_s` seconds (each request waits for the notifier's timeout): the outbox rows are
    written in the entries' transaction and the notifier runs in the same event loop, as in
    the service. Compared with the same path without a channel, run before and after the
    hang in this process. Then the receiver answers, and every event written while it hung
    must arrive."""
    from aiohttp import web

    from config import load_settings
    from core.events import parse_levels
    from service.notifier import Notifier
    from storage import outbox
    from storage.outbox import OutboxPolicy

    released = asyncio.Event()
    arrived: set[str] = set()

    async def hook(request: web.Request) -> web.Response:
        await released.wait()  # hangs until released; the notifier gives up first
        arrived.add(request.headers["webhook-id"])
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, shutdown_timeout=0.1)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/hook"
    settings = load_settings(None, notify_webhook_url=url)

    def wall() -> int:
        return int(time.time() * 1000)

    await bench_paper(max(20, n // 5), rules, tmp, label="warm-up (not compared)")
    began = time.monotonic()
    base_handed, _ = await bench_paper(n, rules, tmp, label="paper, no notifications (before)")
    rounds = max(1, math.ceil(hang_s / (time.monotonic() - began)))  # to last about hang_s
    policy = OutboxPolicy((url,), parse_levels(""), wall)
    db = Database.open(f"sqlite:///{tmp / 'notify.db'}", exchange=None)
    ledger = SqlLedger(db, owns_db=False, outbox=policy)
    notifier = Notifier(db, settings, wall)
    task = asyncio.create_task(notifier.run())
    try:
        began = time.monotonic()
        handed, _ = await bench_paper(n * rounds, rules, tmp, label="paper, webhook hanging",
                                      ledger=ledger)  # fmt: skip
        await asyncio.sleep(max(0.0, hang_s - (time.monotonic() - began)))  # a faster machine
        hung_s = time.monotonic() - began
        after, _ = await bench_paper(n, rules, tmp, label="paper, no notifications (after)")
        base_handed.extend(after)
        with db.engine.connect() as conn:
            written = outbox.counts(conn)
        released.set()
        freed = time.monotonic()
        expected = sum(written.values())

        def settled() -> dict[str, int]:
            with db.engine.connect() as conn:
                return outbox.counts(conn)

        for _ in range(3000):  # at most 10 minutes: the notifier's backoff is 5 minutes at most
            now = await asyncio.to_thread(settled)
            if now[outbox.DELIVERED] + now[outbox.EXPIRED] == expected:
                break
            await asyncio.sleep(0.2)
        late_s = time.monotonic() - freed
    finally:
        released.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
        db.close()
    sys.stdout.write(
        f"  the webhook hung {hung_s:.0f} s; {written[outbox.PENDING]} of {expected} events"
        f" waiting, {written[outbox.DELIVERED]} delivered, {written[outbox.EXPIRED]} expired\n"
        f"  after it answered again, in {late_s:.1f} s: {now[outbox.DELIVERED]} of {expected}"
        f" delivered ({len(arrived)} distinct ids received), {now[outbox.EXPIRED]} expired\n"
    )
    for q in (50, 99):
        ratio = pct(handed, q) / pct(base_handed, q)
        sys.stdout.write(f"  hanging webhook / none, candle -> broker p{q}: x{ratio:.2f}\n")


async def bench_simulator(n: int, tmp: Path) -> None:
    stamp = Stamp()
    config = SimulatorConfig(seed=5, symbols=("BTCUSDT",), api_key=KEY, api_secret=SECRET,
                             history_minutes=1, orders_per_10s=1_000_000,
                             initial_balances=(("USDT", "1000000"), ("BTC", "100")))  # fmt: skip
    # orders_per_10s: this measures a decision's latency, not the exchange's order-rate limit.
    async with Simulator(config) as sim:
        client = make_client(sim.rest_url)
        original = client.create_order

        async def create_order(**params: Any) -> Any:
            stamp.at[_ref(params["newClientOrderId"])] = time.perf_counter()
            return await original(**params)

        client.create_order = create_order
        broker = TestnetBroker(client, {})
        await broker.resync_time()
        await broker.load_rules(["BTCUSDT"])
        clock = SystemClock()
        engine = StrategyEngine(VARIANTS)
        risk = RiskManager(clock, Decimal("1e12"), Decimal("1e12"), 10**9)
        executor = OrderExecutor(broker, _ledger(tmp / "sim.db"), clock, risk,
                                 order_quantities={"BTCUSDT": Decimal("0.1")},
                                 on_position=engine.on_position_changed)  # fmt: skip
        await executor.start()
        # Crafted closes trade at the simulator's price: only the decision path is measured.
        handed, full = await decide_and_wait(executor, engine, stamp, n)
        await executor.stop()
        await client.close_connection()
    report("simulator: candle -> create_order called", handed)
    report("simulator: candle -> outcome journaled (with HTTP)", full)


async def main(n: int, burst: int, notify: bool = False, hang_s: float = 60.0) -> None:
    info = ROOT / "tests" / "data" / "binance" / "testnet-btcusdt-2026-06-15" / "symbol_info.json"
    import json

    rules = parse_symbol_rules(json.loads(info.read_text()))
    with tempfile.TemporaryDirectory() as d:
        if notify:
            await bench_hanging_webhook(n, rules, Path(d), hang_s)
            return
        await bench_paper(n, rules, Path(d))
        if burst > len(VARIANTS):
            # `burst` variants deciding on the same candle: their intents share one fsync.
            many = [VariantSettings(f"V{i}", Decimal("0.15"), 5, 10) for i in range(burst)]
            await bench_paper(max(1, n // 4), rules, Path(d), many, f"paper x{burst}")
        await bench_simulator(n, Path(d))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--burst", type=int, default=16, help="variants deciding at once")
    parser.add_argument("--notify", action="store_true",
                        help="only: the paper path with and without a hanging webhook")  # fmt: skip
    parser.add_argument("--hang", type=float, default=60.0, metavar="S",
                        help="with --notify: how long the webhook hangs")  # fmt: skip
    args = parser.parse_args()
    sys.stdout.write(f"load average {os.getloadavg()[0]:.2f}\n")
    if not args.notify:
        strategy_throughput()
    asyncio.run(main(args.n, args.burst, args.notify, args.hang))
