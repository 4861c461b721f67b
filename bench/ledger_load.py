"""The ledger with a long history: write N filled round trips, then measure what grows with
it. Prints, for the database given (default: a SQLite file in a temporary folder):

- start-up read: every entry read back and decoded, as the service's start does today
  (storage.sql.read_entries), and the RSS it adds;
- GET /trades?limit=100 from the indexes (storage.queries.fills_page): p50 and p99 over 200
  pages, newest and by variant;

    .venv/bin/python -m bench.ledger_load --round-trips 500000 [--database URL]

A PostgreSQL URL must name an empty database (createdb ledger_bench).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import tempfile
import time
from decimal import Decimal

from execution.codec import Entry
from execution.ledger import Filters
from execution.models import OrderRecord, OrderStatus
from storage.database import Database
from storage.entries import read_entries, write_entries
from storage.queries import fills_page
from strategy.models import Side, SignalReason

T0 = 1_781_476_440_000
BATCH = 20_000


def _orders(i: int) -> list[OrderRecord]:
    """Round trip `i` of variant A or B on BTCUSDT: each order's intent and fill."""
    t = T0 + i * 120_000
    variant = "AB"[i % 2]
    out: list[OrderRecord] = []
    for side, k in ((Side.BUY, 0), (Side.SELL, 60_000)):
        cid = f"{variant}-BTCUSDT-s{side.value[0]}-{i}"
        common = dict(
            client_order_id=cid, variant=variant, symbol="BTCUSDT", side=side,
            quantity=Decimal("0.001"), reason=SignalReason.SIGNAL, mode="paper",
            signal_time_ms=t + k, time_ms=t + k,
        )  # fmt: skip
        out.append(OrderRecord(status=OrderStatus.INTENT, **common))  # type: ignore[arg-type]
        out.append(
            OrderRecord(
                status=OrderStatus.FILLED,
                exchange_order_id=2 * i + (k > 0),
                executed_qty=Decimal("0.001"),
                avg_price=Decimal("65000.12"),
                quote_qty=Decimal("65.00012"),
                commission=Decimal("0.065"),
                commission_asset="USDT",
                fill_time_ms=t + k,
                realized_pnl=Decimal("-0.13") if k else None,
                **common,  # type: ignore[arg-type]
            )
        )
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def write_round_trips(db: Database, round_trips: int) -> int:
    """`round_trips` filled round trips into the ledger (intent and fill of each order), in
    transactions of BATCH entries; how many entries."""
    seq = 0
    batch: list[tuple[int, Entry]] = []
    for i in range(round_trips):
        for rec in _orders(i):
            seq += 1
            batch.append((seq, rec))
        if len(batch) >= BATCH:
            write_entries(db, batch)
            batch = []
    if batch:
        write_entries(db, batch)
    return seq


def main(round_trips: int, url: str) -> None:
    db = Database.open(url, exchange=None)
    began = time.perf_counter()
    seq = write_round_trips(db, round_trips)
    write_s = time.perf_counter() - began
    print(f"ledger {db.name}: {seq:,} entries, {2 * round_trips:,} fills, written in"
          f" {write_s:.1f} s")  # fmt: skip

    for name, filters in (("newest", Filters()), ("variant B", Filters(variant="B"))):
        times: list[float] = []
        for n in range(200):
            cursor = None if n % 2 == 0 else max(600, seq - n * seq // 200)  # across history
            began = time.perf_counter()
            page = fills_page(db, filters, 100, cursor)
            times.append((time.perf_counter() - began) * 1000)
            assert len(page.rows) == 100
        print(f"GET /trades?limit=100 ({name}): p50 {statistics.median(times):.2f} ms,"
              f" p99 {_pct(times, 0.99):.2f} ms")  # fmt: skip

    gc.collect()
    rss = _rss_mb()
    began = time.perf_counter()
    entries, _ = read_entries(db)
    read_s = time.perf_counter() - began
    print(f"start-up read of every entry: {read_s:.2f} s, {len(entries):,} entries,"
          f" max RSS {rss:.0f} -> {_rss_mb():.0f} MB")  # fmt: skip
    db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        main(args.round_trips, args.database or f"sqlite:///{folder}/ledger.db")
