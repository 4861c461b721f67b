"""`main.py backtest` against the same strategy written in backtrader, as whole processes on
the same klines (imports and parsing included): the ratio a user sees.

    .venv/bin/python bench/backtest_peers.py --peer-python PATH [--candles 100000]

PATH: an interpreter with backtrader installed (docs/benchmarks.md says how). Both run
EMA(5)/SMA(10) with a 15 % and a 10 % stop-loss (variants A and B) over seeded candles, orders
filled at the next candle's open (backtrader's default) without slippage.
nautilus_trader is not measured here (not installed on this machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.optimize import timed, write_klines  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=100_000)
    parser.add_argument("--peer-python", required=True)
    args = parser.parse_args()
    out = sys.stdout.write
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        data = tmp / "klines.json"
        write_klines(data, args.candles)
        (tmp / "empty.env").write_text("")
        load = os.getloadavg()[0]
        out(f"backtest of A and B on {args.candles:,} seeded candles, load {load:.2f}\n")
        ours_cmd = [sys.executable, str(ROOT / "main.py"), "backtest", "--data", str(data),
                    "--symbol", "BTCUSDT", "--fill", "next-open", "--slippage", "0"]  # fmt: skip
        ours, ours_cpu, _ = timed(ours_cmd, tmp)
        out(f"  main.py backtest: {ours:6.1f} s wall, {ours_cpu:6.1f} s CPU\n")
        peer = ROOT / "bench" / "peers" / "backtrader_backtest.py"
        wall, cpu, said = timed([args.peer_python, str(peer), str(data)], tmp)
        out(f"  backtrader:       {wall:6.1f} s wall, {cpu:6.1f} s CPU ({said.strip()})\n")
        out(f"  ours vs backtrader: x{wall / ours:.2f} (above 1: faster)\n")


if __name__ == "__main__":
    main()
