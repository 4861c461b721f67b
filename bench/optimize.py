"""The optimiser's sweep as a whole process, against backtesting.py's, on the same data.

    .venv/bin/python bench/optimize.py [--candles N] [--peer-python PATH]

1. N seeded 1-minute candles (default 100,000) written as a klines file;
2. `main.py optimize` over ema_period 3,5,8,12 × sma_period 10,20,30,40 × stop_loss
   0.10,0.15 (32 settings, 30 kept: the EMA must be shorter than the SMA), with 1 worker and
   with 2 (wall and CPU of the whole process tree, imports and cluster start included);
3. with `--peer-python` (an interpreter with backtesting installed: see docs/benchmarks.md),
   backtesting.py's `Backtest.optimize` on the same grid (bench/peers/backtesting_sweep.py),
   which uses every core.

Every figure comes from one run on this machine; ratios compare runs of the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.backtest import seeded_candles  # noqa: E402

GRID = ["--param", "ema_period=3,5,8,12", "--param", "sma_period=10:40:10",
        "--param", "stop_loss=0.10,0.15"]  # fmt: skip


def write_klines(path: Path, count: int) -> None:
    rows = [
        [c.open_time, str(c.open), str(c.high), str(c.low), str(c.close), str(c.volume),
         c.close_time, "0", 0, "0", "0", "0"]
        for c in seeded_candles(count)
    ]  # fmt: skip
    path.write_text(json.dumps(rows), encoding="utf-8")


def timed(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the children, stdout) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{args[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=100_000)
    parser.add_argument("--peer-python", help="an interpreter with backtesting installed")
    args = parser.parse_args()
    out = sys.stdout.write
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        data = tmp / "klines.json"
        write_klines(data, args.candles)
        out(f"sweep: 32 settings (30 valid) on {args.candles:,} seeded candles,"
            f" {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n")  # fmt: skip
        ours: dict[int, float] = {}
        for workers in (1, 2):
            cmd = [sys.executable, str(ROOT / "main.py"), "optimize", "--data", str(data),
                   "--symbol", "BTCUSDT", *GRID, "--workers", str(workers),
                   "--json", str(tmp / f"w{workers}.json")]  # fmt: skip
            wall, cpu, _ = timed(cmd, tmp)
            trials = len(json.loads((tmp / f"w{workers}.json").read_text())["trials"])
            ours[workers] = wall
            out(f"  main.py optimize --workers {workers}: {wall:6.1f} s wall, {cpu:6.1f} s CPU,"
                f" {trials} trials\n")  # fmt: skip
        out(f"  1 -> 2 workers: x{ours[1] / ours[2]:.2f}\n")
        if args.peer_python:
            script = ROOT / "bench" / "peers" / "backtesting_sweep.py"
            wall, cpu, said = timed([args.peer_python, str(script), str(data)], tmp)
            out(f"  backtesting.py Backtest.optimize: {wall:6.1f} s wall, {cpu:6.1f} s CPU"
                f" ({said.strip()})\n")  # fmt: skip
            out(f"  ours (2 workers) vs backtesting.py: x{wall / ours[2]:.2f} (above 1: faster)\n")
        load = os.getloadavg()[0]
        out(f"load average at the end: {load:.2f}\n")


if __name__ == "__main__":
    main()
