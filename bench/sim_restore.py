"""What a restarted `--simulate` pays at start to go on with a long journal.

.venv/bin/python -m bench.sim_restore [--round-trips 20000]

Writes a journal of N round trips (a BUY and a SELL of 0.001 BTCUSDT each, filled, with their
intents and a signal-sized line between), then times what the runner does before the service
starts: reading the journal into restored orders (wiring.sim_memory.read_memory, off the event
loop in the service) and building the simulator with them (SimulatorConfig.restore), against
building it empty; and the worst-case order look-up (the oldest order, a linear scan).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from binance import AsyncClient

from execution.codec import Entry
from execution.journal import read_journal, write_lines
from execution.models import OrderRecord, OrderStatus
from simulator import Simulator, SimulatorConfig
from strategy.models import Side, SignalReason
from wiring.sim_memory import exchange_memory

START_MS = 1_790_000_000_000


def _journal(path: Path, round_trips: int) -> None:
    entries: list[Entry] = []
    for n in range(round_trips):
        t = START_MS + n * 120_000
        for side, qty, quote, fee, asset in (
            (Side.BUY, "0.001", "65.00000000", "0.00000100", "BTC"),
            (Side.SELL, "0.00099", "64.99000000", "0.06499000", "USDT"),
        ):
            intent = OrderRecord(
                OrderStatus.INTENT, f"A-BTCUSDT-{side.value[0]}-{n}", "A", "BTCUSDT", side,
                Decimal(qty), SignalReason.SIGNAL, "simulated", t, t,
            )  # fmt: skip
            filled = replace(
                intent, status=OrderStatus.FILLED, exchange_order_id=7_000_000 + len(entries) // 2,
                executed_qty=Decimal(qty), quote_qty=Decimal(quote), commission=Decimal(fee),
                commission_asset=asset, fill_time_ms=t + 1, time_ms=t + 2,
            )  # fmt: skip
            entries += [intent, filled]
            t += 60_000
    write_lines(path, entries)


async def _lookup(sim: Simulator, config: SimulatorConfig) -> float:
    client = AsyncClient(config.api_key, config.api_secret, testnet=True)
    client.API_TESTNET_URL = sim.rest_url
    client.timestamp_offset = sim.clock.now_ms() - int(time.time() * 1000)
    try:
        began = time.perf_counter()
        await client.get_order(symbol="BTCUSDT", origClientOrderId="A-BTCUSDT-B-0")
        return time.perf_counter() - began
    finally:
        await client.close_connection()


async def main(round_trips: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "journal.jsonl"
        _journal(path, round_trips)
        size = path.stat().st_size
        began = time.perf_counter()
        restored = exchange_memory(read_journal(path)[0], ("BTCUSDT", "ETHUSDT"))
        read_s = time.perf_counter() - began
    config = SimulatorConfig(speed=60.0, start_ms=START_MS + round_trips * 240_000)
    began = time.perf_counter()
    Simulator(config)
    empty_s = time.perf_counter() - began
    began = time.perf_counter()
    sim = Simulator(replace(config, restore=tuple(restored)))
    full_s = time.perf_counter() - began
    await sim.start()
    try:
        lookup_s = await _lookup(sim, config)
    finally:
        await sim.stop()
    print(f"journal: {round_trips} round trips, {len(restored)} filled orders, {size / 1e6:.1f} MB")
    print(f"journal read + exchange_memory: {read_s * 1000:.0f} ms")
    print(f"simulator: {empty_s * 1000:.0f} ms empty, {full_s * 1000:.0f} ms restored")
    print(f"GET /api/v3/order of the oldest order: {lookup_s * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().round_trips))
