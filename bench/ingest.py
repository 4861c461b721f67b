"""Ingest benchmark: raw trade frames (bytes) -> parse -> Tick -> CandleAggregator -> no-op.

    .venv/bin/python bench/ingest.py [--n 200000]

Measures our pipeline from the bytes a socket delivers (combined-stream envelopes of
`<sym>@trade` events, 3 symbols, ~10 trades per second of market time): `parse_trade_frame`
takes its msgspec road for these. In the live feed python-binance decodes each frame itself
(our orjson hook) and `TradeFeed.on_message` converts that dict (`trade_to_tick`, the dict
road); `dict_road_ticks_per_s` measures that part alone (dicts decoded beforehand, untimed).
Prints ticks_per_s, us_per_tick and ratio_to_json_parse
(pipeline time per tick / a bare stdlib `json.loads` of the same frames, same run), and
cpu_ticks_per_s (the same from process CPU time, steadier on a shared, loaded machine).
Goal: >= 400,000 ticks/s on one core and a ratio <= 2.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregation.aggregator import CandleAggregator
from aggregation.models import Candle
from data_ingestion.schemas import decode_frame, parse_trade_frame, trade_to_tick


def frames(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    symbols = ("BTCUSDT", "ETHUSDT", "BNBUSDT")
    ids = dict.fromkeys(symbols, 1_400_000)
    price = {"BTCUSDT": 65000.0, "ETHUSDT": 3500.0, "BNBUSDT": 600.0}
    t = 1_781_505_507_617
    out = []
    for _ in range(n):
        s = rng.choice(symbols)
        ids[s] += 1
        t += rng.randint(0, 200)
        price[s] *= 1 + rng.uniform(-0.0005, 0.0005)
        ev = {
            "e": "trade", "E": t + 1, "s": s, "t": ids[s], "p": f"{price[s]:.8f}",
            "q": f"{rng.uniform(0.0001, 2):.8f}", "T": t, "m": rng.random() < 0.5, "M": True,
        }  # fmt: skip
        out.append(json.dumps({"stream": f"{s.lower()}@trade", "data": ev}).encode())
    return out


def run(n: int, rounds: int) -> dict[str, float]:
    data = frames(n)
    dicts = [json.loads(f) for f in data]
    best_pipe = best_json = best_cpu = best_dict = float("inf")
    closed = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for f in data:
            json.loads(f)
        best_json = min(best_json, time.perf_counter() - t0)

        sink: list[Candle] = []
        agg = CandleAggregator(history=1440, grace_ms=2000, on_close=sink.append)
        add = agg.add_tick
        t0, c0 = time.perf_counter(), time.process_time()
        for f in data:
            add(parse_trade_frame(f, 0))
        best_pipe = min(best_pipe, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        closed = len(sink)

        add = CandleAggregator(history=1440, grace_ms=2000, on_close=sink.append).add_tick
        t0 = time.perf_counter()
        for d in dicts:
            add(trade_to_tick(decode_frame(d), 0))
        best_dict = min(best_dict, time.perf_counter() - t0)
    us = best_pipe / n * 1e6
    return {
        "ticks": n,
        "candles_closed": closed,
        "ticks_per_s": round(n / best_pipe),
        "us_per_tick": round(us, 3),
        "cpu_ticks_per_s": round(n / best_cpu),  # process CPU time: less noisy when shared
        "json_loads_us_per_frame": round(best_json / n * 1e6, 3),
        "ratio_to_json_parse": round(best_pipe / best_json, 3),
        "dict_road_ticks_per_s": round(n / best_dict),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = run(args.n, args.rounds)
    for key, value in result.items():
        print(f"{key}: {value}")
    ok = result["ticks_per_s"] >= 400_000 and result["ratio_to_json_parse"] <= 2
    print(f"goal (>= 400000 ticks/s, ratio <= 2): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
