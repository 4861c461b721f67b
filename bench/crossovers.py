"""How often EMA(5)/SMA(10) crosses on 1-minute candles: what sizes the default risk limits.

    .venv/bin/python -m bench.crossovers [--days 2]

Counts crossings (the fast average moving from below to above the slow one or back) on
- the recorded Spot Testnet klines (500 one-minute rows, tests/data/binance), and
- the simulator's own 1m klines over `--days` simulated days (seed 1), fetched through its
  REST klines endpoint with python-binance over loopback.
Each crossing is one order per variant and symbol (a BUY when flat, a SELL when long), so the
orders a variant sends per day are about crossings/day × symbols. Prints the rates per day.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from binance import AsyncClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator import Simulator, SimulatorConfig
from strategy.indicators import EMA, SMA

RECORDED = "testnet-btcusdt-2026-06-15/klines_1m.json"


def crossings(closes: list[float], fast: int = 5, slow: int = 10) -> int:
    ema, sma = EMA(fast), SMA(slow)
    above: bool | None = None
    count = 0
    for close in closes:
        e, s = ema.update(close), sma.update(close)
        if not (ema.ready and sma.ready) or e == s:
            continue
        now = e > s
        if above is not None and now != above:
            count += 1
        above = now
    return count


def _shared() -> Path | None:
    """The recorded Binance data (tests/data/binance, in the repository)."""
    found = Path(__file__).resolve().parent.parent / "tests" / "data" / "binance"
    return found if found.is_dir() else None


async def simulator_closes(days: int, symbol: str) -> list[float]:
    minutes = days * 1440
    config = SimulatorConfig(
        seed=1, symbols=(symbol,), history_minutes=minutes + 1, api_key="k", api_secret="s"
    )
    async with Simulator(config) as sim:
        client = AsyncClient("k", "s", testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        try:
            end = sim.clock.now_ms() // 60_000 * 60_000
            start = end - minutes * 60_000
            closes: list[float] = []
            while start < end:
                rows = await client.get_klines(
                    symbol=symbol, interval="1m", startTime=start, endTime=end - 1, limit=1000
                )
                if not rows:
                    break
                closes += [float(r[4]) for r in rows]
                start = int(rows[-1][0]) + 60_000
        finally:
            await client.close_connection()
    return closes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2)
    args = parser.parse_args()
    shared = _shared()
    if shared is not None:
        rows = json.loads((shared / RECORDED).read_text())[:-1]  # the last row is still open
        closes = [float(r[4]) for r in rows]
        n = crossings(closes)
        print(
            f"recorded testnet BTCUSDT: {n} crossings in {len(closes)} minutes"
            f" = {n * 1440 / len(closes):.0f} per day"
        )
    else:
        print("recorded testnet klines not found (../shared/binance): skipped")
    for symbol in ("BTCUSDT", "ETHUSDT"):
        closes = asyncio.run(simulator_closes(args.days, symbol))
        n = crossings(closes)
        print(
            f"simulator {symbol} (seed 1): {n} crossings in {len(closes)} minutes"
            f" = {n * 1440 / max(len(closes), 1):.0f} per day"
        )


if __name__ == "__main__":
    main()
