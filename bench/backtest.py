"""Backtest throughput through the live classes (Pipeline, StrategyEngine, OrderExecutor,
PaperBroker) on one core.

    .venv/bin/python bench/backtest.py [--profile]

1. a seeded year of 1-minute candles (525,600) through variants A and B;
2. 1,000,000 seeded trades -> candles -> signals (and their orders).
Goals: <= 2 s and <= 3 s. Generation of the input is not timed. Wall and CPU time are both
printed (the machine is shared: wall time includes waiting for a core), with the load average.
`--profile` prints where the time goes (cProfile, top functions by own time).
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import random
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregation.models import Candle
from backtest.run import BacktestConfig
from backtest.runner import candle_stream, run_streams, tick_stream
from config import load_settings
from data_ingestion.models import Tick
from execution.models import OrderStatus

START_MS = 1_704_067_200_000  # 2024-01-01T00:00Z
CANDLES = int(os.environ.get("BENCH_CANDLES", 525_600))
TRADES = int(os.environ.get("BENCH_TRADES", 1_000_000))


def seeded_candles(n: int, seed: int = 7) -> list[Candle]:
    rng = random.Random(seed)
    price = 40_000.0
    out: list[Candle] = []
    for i in range(n):
        o = price
        price = max(100.0, price * (1 + rng.gauss(0, 0.0012)))
        c = price
        h = max(o, c) * (1 + abs(rng.gauss(0, 0.0006)))
        lo = min(o, c) * (1 - abs(rng.gauss(0, 0.0006)))
        vol = Decimal(f"{rng.uniform(1, 50):.5f}")
        out.append(
            Candle(
                "BTCUSDT",
                START_MS + i * 60_000,
                Decimal(f"{o:.2f}"),
                Decimal(f"{h:.2f}"),
                Decimal(f"{lo:.2f}"),
                Decimal(f"{c:.2f}"),
                vol,
                vol * Decimal(f"{c:.2f}"),
                rng.randint(10, 500),
                vol / 2,
                vol * Decimal(f"{c:.2f}") / 2,
            )
        )
    return out


def seeded_ticks(n: int, seed: int = 11) -> list[Tick]:
    rng = random.Random(seed)
    price = 40_000.0
    t = START_MS
    out: list[Tick] = []
    for i in range(n):
        t += rng.randint(1, 120)  # ~60 ms apart: ~1,000 trades a minute, ~16 hours
        price = max(100.0, price * (1 + rng.gauss(0, 0.00015)))
        out.append(
            Tick("BTCUSDT", 1_000_000 + i, Decimal(f"{price:.2f}"),
                 Decimal(f"0.{rng.randint(1, 99999):05d}"), t, rng.random() < 0.5)
        )  # fmt: skip
    return out


def run(
    label: str,
    streams_factory: Callable[[], list[Iterator[tuple[int, int, int, Candle | Tick]]]],
    total: int,
    rows: int,
    profile: bool,
) -> None:
    settings = load_settings(env_file=None, risk_max_orders_per_day=1_000_000)
    config = BacktestConfig(files=[], variants=settings.variant_settings, fee_rate=Decimal("0.001"))
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    result = asyncio.run(run_streams(settings, config, streams_factory(), total))
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    trades = sum(len(t) for per in result.trades.values() for t in per.values())
    orders = sum(1 for rec in result.journal if rec.status is OrderStatus.INTENT)
    print(
        f"{label}: {rows:,} rows in {elapsed:.2f} s (CPU {cpu:.2f} s) = {rows / elapsed:,.0f}"
        f" rows/s ({result.candles:,} candles, {len(result.signals):,} signals,"
        f" {orders:,} orders, {trades:,} round trips; load average {os.getloadavg()[0]:.2f})"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def main() -> None:
    profile = "--profile" in sys.argv
    candles = seeded_candles(CANDLES)
    run("year of 1m candles, A+B", lambda: [candle_stream(candles)], len(candles), CANDLES, profile)
    ticks = seeded_ticks(TRADES)
    run("1M trades -> candles -> signals", lambda: [tick_stream(ticks)], 0, TRADES, profile)


if __name__ == "__main__":
    main()
