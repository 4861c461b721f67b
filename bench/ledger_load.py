"""The ledger's cost with history: append N filled round trips, then read them all back as a
start does (storage.sql.read_entries), and page the newest 100 fills as GET /trades does today.

    .venv/bin/python -m bench.ledger_load --round-trips 100000 [--database URL]

Without --database: a SQLite file in a temporary folder. With a PostgreSQL URL, the database
must be empty. Prints entries, seconds to write, seconds to read back, and the RSS growth.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from decimal import Decimal

from execution.models import OrderRecord, OrderStatus
from storage.database import Database
from storage.sql import SqlLedger, read_entries
from strategy.models import Side, SignalReason

T0 = 1_781_476_440_000


def _pair(i: int) -> list[OrderRecord]:
    t = T0 + i * 120_000
    out: list[OrderRecord] = []
    for side, k in ((Side.BUY, 0), (Side.SELL, 60_000)):
        cid = f"A-BTCUSDT-s{side.value[0]}-{i}"
        base = OrderRecord(
            status=OrderStatus.INTENT, client_order_id=cid, variant="A", symbol="BTCUSDT",
            side=side, quantity=Decimal("0.001"), reason=SignalReason.SIGNAL, mode="paper",
            signal_time_ms=t + k, time_ms=t + k,
        )  # fmt: skip
        filled = OrderRecord(
            status=OrderStatus.FILLED, client_order_id=cid, variant="A", symbol="BTCUSDT",
            side=side, quantity=Decimal("0.001"), reason=SignalReason.SIGNAL, mode="paper",
            signal_time_ms=t + k, time_ms=t + k, exchange_order_id=2 * i + (k > 0),
            executed_qty=Decimal("0.001"), avg_price=Decimal("65000.12"),
            quote_qty=Decimal("65.00012"), commission=Decimal("0.065"),
            commission_asset="USDT", fill_time_ms=t + k,
            realized_pnl=Decimal("-0.13") if k else None,
        )  # fmt: skip
        out += [base, filled]
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(round_trips: int, url: str) -> None:
    db = Database.open(url, exchange=None)
    ledger = SqlLedger(db)
    await ledger.start()
    began = time.perf_counter()
    for i in range(round_trips):
        for rec in _pair(i):
            ledger.append_nowait(rec)
        if i % 1000 == 999:
            await ledger.append(_pair(i)[0])  # a durable point now and then
    await ledger.stop()
    write_s = time.perf_counter() - began
    rss = _rss_mb()
    began = time.perf_counter()
    entries, _ = read_entries(db)
    read_s = time.perf_counter() - began
    print(f"ledger {db.name}: {len(entries):,} entries ({round_trips * 2:,} fills)")
    print(f"write: {write_s:.2f} s; read back at start: {read_s:.2f} s;"
          f" RSS after read {_rss_mb():.0f} MB (before {rss:.0f} MB)")  # fmt: skip
    db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(args.round_trips, args.database or f"sqlite:///{folder}/ledger.db"))
