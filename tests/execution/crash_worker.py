"""A small real process for the crash test: executor + journal against a simulator.

    python -m tests.execution.crash_worker REST_URL JOURNAL buy|resume

Starts the executor (which rebuilds positions from the journal and reconciles open intents),
writes one JSON line with the positions and torn lines, and with `buy` then places a BUY.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal

from core.clock import SystemClock
from strategy.models import Side
from tests.execution.simnet import make_client, make_executor


async def main(rest_url: str, ledger: str, mode: str) -> int:
    client = make_client(rest_url, timeout=60.0)
    executor = await make_executor(client, ledger, SystemClock())
    await executor.start()
    report = {
        "positions": [
            {"variant": p.variant, "symbol": p.symbol, "held_qty": str(p.held_qty)}
            for p in executor.positions.all()
        ],
    }
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    if mode == "buy":
        await executor.manual_order("A", "BTCUSDT", Side.BUY, Decimal("0.001"))
    await executor.stop()
    await client.close_connection()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
