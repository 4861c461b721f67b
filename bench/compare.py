"""Before and after in one run: a benchmark on an older commit and on the working tree, in turns.

    .venv/bin/python -m bench.compare REV [--rounds 3] [--only backtest,ingest,decision]

The commit REV is exported (`git archive`) into a temporary folder beside a link to this
checkout's `../shared` (the recorded Binance data some benchmarks read). Each round runs every
chosen benchmark once in each tree, with the same interpreter; the order flips every round
(before-after, then after-before) so that a load that grows or fades over the run does not
favour one side. The figures each benchmark prints are collected; the table gives each side's
median and best (the least disturbed run: the other tenants only ever add time) and the ratios
after / before. The machine is shared: only figures of the same run
compare, and CPU-time figures (which exclude waiting for a core) are the steadier ones.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figure:
    """One number a benchmark prints: its label, the pattern that finds it, and whether a
    larger value is better."""

    label: str
    pattern: str
    higher_is_better: bool = False


BENCHES: dict[str, tuple[list[str], dict[str, str], list[Figure]]] = {
    "backtest": (
        ["bench/backtest.py"],
        {},
        [
            Figure("year of 1m candles, A+B: CPU s", r"year of 1m candles.*?\(CPU ([\d.]+) s\)"),
            Figure("1M trades -> candles -> signals: CPU s", r"1M trades.*?\(CPU ([\d.]+) s\)"),
        ],
    ),
    "ingest": (
        ["bench/ingest.py"],
        {},
        [
            Figure("ticks per CPU second", r"cpu_ticks_per_s: ([\d.]+)", higher_is_better=True),
            Figure("ticks per second (wall)", r"^ticks_per_s: ([\d.]+)", higher_is_better=True),
        ],
    ),
    "decision": (
        ["-m", "bench.decision"],
        {},
        [
            Figure("paper: candle -> broker p50 µs", r"^paper: candle -> request.*p50=\s*([\d.]+)"),
            Figure("paper: candle -> broker p99 µs", r"^paper: candle -> request.*p99=\s*([\d.]+)"),
            Figure(
                "paper: candle -> journaled p50 µs", r"^paper: candle -> outcome.*p50=\s*([\d.]+)"
            ),
            Figure(
                "simulator: candle -> create_order p50 µs",
                r"^simulator: candle -> create_order.*p50=\s*([\d.]+)",
            ),
            Figure("strategy: 525,600 candles s", r"525,600 candles x 2 variants in ([\d.]+) s"),
        ],
    ),
}


def export(rev: str, into: Path) -> Path:
    """The tree of `rev` under `into`, with `../shared` linked beside it."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev], check=True, capture_output=True
    ).stdout
    tree = into / "repo"
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    shared = ROOT.parent / "shared"
    if shared.exists():
        (into / "shared").symlink_to(shared)
    return tree


def run_once(tree: Path, bench: str) -> str:
    args, env, _ = BENCHES[bench]
    result = subprocess.run(
        [sys.executable, *args], cwd=tree, env={**os.environ, **env, "PYTHONPATH": str(tree)},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"{bench} failed in {tree}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def figures(bench: str, output: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for fig in BENCHES[bench][2]:
        match = re.search(fig.pattern, output, re.MULTILINE)
        if match:
            found[fig.label] = float(match.group(1).replace(",", ""))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rev", help="the commit to compare the working tree against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="backtest,ingest,decision")
    args = parser.parse_args()
    benches = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(benches) - set(BENCHES))
    if unknown:
        raise SystemExit(
            f"unknown benchmark(s): {', '.join(unknown)} (known: {', '.join(BENCHES)})"
        )
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.rev],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        before_tree = export(rev, Path(tmp))
        trees = {"before": before_tree, "after": ROOT}
        seen: dict[tuple[str, str, str], list[float]] = {}
        for n in range(args.rounds):
            order = ["before", "after"] if n % 2 == 0 else ["after", "before"]
            for bench in benches:
                for side in order:
                    load = os.getloadavg()[0]
                    got = figures(bench, run_once(trees[side], bench))
                    shown = ", ".join(f"{k} {v:g}" for k, v in got.items())
                    out.write(f"round {n + 1} {bench} {side} (load {load:.2f}): {shown}\n")
                    out.flush()
                    for label, value in got.items():
                        seen.setdefault((bench, label, side), []).append(value)
        out.write(f"\nbefore = {rev}, after = the working tree; medians of {args.rounds} rounds\n")
        out.write(
            f"{'benchmark':<10} {'figure':<42} {'before':>10} {'after':>10} {'after/before':>13}\n"
        )
        for bench in benches:
            for fig in BENCHES[bench][2]:
                before = seen.get((bench, fig.label, "before"))
                after = seen.get((bench, fig.label, "after"))
                if not before or not after:
                    continue
                b, a = statistics.median(before), statistics.median(after)
                pick = max if fig.higher_is_better else min
                bb, ba = pick(before), pick(after)
                better = "(higher is better)" if fig.higher_is_better else ""
                out.write(
                    f"{bench:<10} {fig.label:<42} {b:>13g} {a:>8g} {a / b:>6.3f}"
                    f" {bb:>12g} {ba:>8g} {ba / bb:>6.3f} {better}\n"
                )


if __name__ == "__main__":
    main()
