"""Cost of the service's higher-timeframe candles (aggregation/timeframe_book.py).

    .venv/bin/python -m bench.timeframes [--minutes 100000]

Per closed 1-minute candle of one symbol: `TimeframeBook.add` with all seven higher intervals
kept (3m … 1d: what a /ws subscriber or a REST read of each has switched on) and with none kept
(a backtest, or a service nobody asked for intervals); and `open_candle` of the 1d interval (the
costliest `candle_update` of a higher interval, at most once a second per symbol). Best of 3.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregation.models import Candle
from aggregation.timeframe_book import HIGHER, TimeframeBook

T0 = 1_781_481_600_000  # a day boundary


def minutes(n: int) -> list[Candle]:
    rng = random.Random(1)
    out, price = [], Decimal("60000")
    for i in range(n):
        move = Decimal(rng.randint(-50, 50))
        high, low = max(price, price + move) + 5, min(price, price + move) - 5
        out.append(
            Candle("BTCUSDT", T0 + i * 60_000, price, high, low, price + move, Decimal("1.5"),
                   Decimal("90000"), rng.randint(0, 40), Decimal("0.7"), Decimal("42000"))
        )  # fmt: skip
        price += move
    return out


def per_minute_us(candles: list[Candle], keep: tuple[str, ...]) -> float:
    best = float("inf")
    for _ in range(3):
        book = TimeframeBook(lambda symbol: (), len(candles))
        book.keep(keep)
        start = time.perf_counter()
        for candle in candles:
            book.add(candle)
        best = min(best, (time.perf_counter() - start) / len(candles) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=100_000)
    args = parser.parse_args()
    candles = minutes(args.minutes)
    kept = per_minute_us(candles, HIGHER)
    idle = per_minute_us(candles, ())
    book = TimeframeBook(lambda symbol: candles[:-1], len(candles))
    book.keep(HIGHER)
    book.history("BTCUSDT", "1d")  # seeded from the minutes
    start = time.perf_counter()
    for _ in range(1000):
        book.open_candle("BTCUSDT", "1d", candles[-1])
    partial = (time.perf_counter() - start) / 1000 * 1e6
    print(f"TimeframeBook.add per closed minute: {kept:.1f} µs with {len(HIGHER)} intervals kept,"
          f" {idle:.2f} µs with none kept ({len(candles):,} minutes, best of 3)")  # fmt: skip
    print(f"open_candle(1d) for a candle_update: {partial:.1f} µs")


if __name__ == "__main__":
    main()
