"""`main.py optimize` as a user runs it: real Dask workers on loopback, real databases.

- every trial's figures are those `main.py backtest` prints for the same setting, and its
  return, trades and fees add up from the backtest's round trips (its fills);
- a worker killed mid-run on a real scheduler: every trial exactly once, figures unchanged;
- Ctrl-C keeps the finished trials, and `--study` resumes them (SQLite and PostgreSQL);
- bad options are refused before any work, naming what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.optimize import write_klines
from tests.conftest import BINANCE_DATA, ROOT

pytestmark = pytest.mark.e2e

KLINES = BINANCE_DATA / "testnet-btcusdt-2026-06-15" / "klines_1m.json"  # 500 real candles


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VARIANTS", "DATABASE_URL")}
    env.update(extra)
    return env


def _main(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd,  # no .env of the developer's
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write_klines(path: Path, count: int) -> Path:
    write_klines(path, count)  # bench/optimize.py's seeded klines file
    return path


def _entry(params: dict[str, Any]) -> str:
    return (
        f"A:{params['stop_loss']}:ema_sma(ema_period={params['ema_period']},"
        f"sma_period={params['sma_period']})@1m"
    )


def test_every_trial_is_what_backtest_prints_for_its_setting(tmp_path: Path) -> None:
    out = tmp_path / "trials.json"
    done = _main(
        tmp_path, "optimize", "--data", str(KLINES), "--symbol", "BTCUSDT",
        "--param", "ema_period=3,5", "--param", "sma_period=20",
        "--param", "stop_loss=0.002,0.5", "--workers", "2", "--json", str(out),
        "--html", str(tmp_path / "report.html"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert [t["number"] for t in doc["trials"]] == [0, 1, 2, 3]
    assert doc["skipped"] == 0 and doc["candles"] == 500
    stops_matter = set()
    for trial in doc["trials"]:
        report_path = tmp_path / f"report{trial['number']}.json"
        single = _main(
            tmp_path, "backtest", "--data", str(KLINES), "--symbol", "BTCUSDT",
            "--report", str(report_path), env=_env(VARIANTS=_entry(trial["params"])),
        )  # fmt: skip
        assert single.returncode == 0, single.stderr
        report = json.loads(report_path.read_text())
        assert trial["metrics"] == report["metrics"]["A"]
        # Independently, from the backtest's round trips (its fills): flat at the end, the
        # return is their P&L over the capital, the fees every fill's commission.
        trips = report["variants"]["A"]["BTCUSDT"]["trades"]
        pnl = sum((Decimal(t["pnl"]) for t in trips), Decimal(0))
        capital = Decimal(report["capital"])
        assert trial["metrics"]["trades"] == len(trips) > 0
        assert Decimal(trial["metrics"]["return_pct"]) == (pnl / capital * 100).quantize(
            Decimal("0.01")
        )
        fees = sum((Decimal(t["fees"]) for t in trips), Decimal(0))
        assert Decimal(trial["metrics"]["fees"]) == fees.quantize(Decimal("1e-8"))
        stops_matter.add(sum(t["exit_reason"] == "stop_loss" for t in trips) > 0)
    assert stops_matter == {True, False}  # the tight stop fired, the loose one did not
    best = doc["best"]
    figures = [Decimal(t["metrics"]["return_pct"]) for t in doc["trials"]]
    assert Decimal(best["metrics"]["return_pct"]) == max(figures)
    page = (tmp_path / "report.html").read_text()
    assert '<meta name="viewport"' in page and "<script src=" not in page  # library inlined
    assert f"best: trial {best['number']}" in page and "live A:" in page and "live B:" in page
    text = page[: page.index("<script>")]  # what people read: no chart data, no library
    text = re.sub(r'<script type="application/json".*?</script>', "", text, flags=re.S)
    assert not re.search(r"\d\.\d{5,}", text)  # rounded
    assert "/variants/A" in done.stdout and json.dumps(best["params"]["ema_period"]) in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--param", "fast=3"], ["fast", "ema_period, sma_period, stop_loss"]),
        (["--param", "ema_period=0,3"], ["ema_period", "between 1 and 10000"]),
        (["--param", "stop_loss=1.2"], ["stop_loss", "between 0 and 1"]),
        (["--param", "ema_period=3", "--sampler", "tpe"], ["--sampler tpe needs --trials"]),
        (["--param", "ema_period=3", "--walk-forward", "9"], ["--walk-forward 9", "at least"]),
        (["--param", "ema_period=3", "--interval", "2m"], ["--interval '2m'"]),
        (["--param", "ema_period=3", "--cluster", "tcp://127.0.0.1:9", "--workers", "2"],
         ["--workers"]),
        (["--param", "ema_period=3", "--database", "mysql://x@h/db"],
         ["--database: ", "'mysql' is not supported"]),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_any_work(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    out = tmp_path / "t.json"
    done = _main(tmp_path, "optimize", "--data", str(KLINES), "--symbol", "BTCUSDT",
                 "--json", str(out), *args)  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("optimize: ")
    for word in words:
        assert word in lines[0]
    assert not out.exists() and done.stdout == ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A real scheduler and two worker processes (no nanny: a killed worker stays dead)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = _env(PYTHONPATH=str(ROOT))
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs: list[subprocess.Popen[bytes]] = [
        subprocess.Popen(
            [*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
             "--dashboard-address", "127.0.0.1:0"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    for n in range(2):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--no-nanny",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{n}",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        yield address, procs[1:]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)


def test_a_worker_killed_mid_run_loses_no_trial_and_counts_none_twice(
    tmp_path: Path, dask_cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    import dask.distributed as distributed

    dask: Any = distributed  # untyped
    address, workers = dask_cluster
    data = _write_klines(tmp_path / "klines.json", 20_000)
    out = tmp_path / "trials.json"
    args = ["optimize", "--data", str(data), "--symbol", "BTCUSDT", "--param", "ema_period=3,5",
            "--param", "sma_period=10,20", "--param", "stop_loss=0.10,0.15", "--cluster", address,
            "--json", str(out)]  # fmt: skip
    client = dask.Client(address, timeout="30s")
    try:
        client.wait_for_workers(2, timeout=60)
        run = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), *args],
            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        # Wait until a worker runs a batch of trials, then kill that worker.
        pids = {f"w{n}": proc.pid for n, proc in enumerate(workers)}
        victim = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            busy = [
                a for a, keys in client.processing().items() if any("run_batch" in k for k in keys)
            ]
            if busy:
                victim = client.scheduler_info()["workers"][busy[0]]["name"]
            else:
                time.sleep(0.05)
        assert victim is not None, "no batch started"
        os.kill(pids[victim], signal.SIGKILL)
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr.decode()
        assert len(client.scheduler_info()["workers"]) == 1  # it stayed dead
    finally:
        client.close()
    doc = json.loads(out.read_text())
    numbers = [t["number"] for t in doc["trials"]]
    assert sorted(numbers) == list(range(8)), numbers  # every trial, each once
    # The re-run batch gives the figures a run without faults gives.
    clean = tmp_path / "clean.json"
    again = _main(tmp_path, *args[:-4], "--workers", "1", "--json", str(clean))
    assert again.returncode == 0, again.stderr
    assert json.loads(clean.read_text())["trials"] == doc["trials"]


def _complete_trials(storage: Any, name: str) -> int:
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return 0
    states = (optuna.trial.TrialState.COMPLETE,)
    return len(study.get_trials(deepcopy=False, states=states))


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgresql"], indirect=True)
def test_ctrl_c_keeps_finished_trials_and_the_study_resumes(
    tmp_path: Path, ledger_url: str
) -> None:
    from optimize.studies import open_storage
    from storage.url import parse

    data = _write_klines(tmp_path / "klines.json", 10_000)
    args = ["optimize", "--data", str(data), "--symbol", "BTCUSDT", "--param",
            "ema_period=2,3,4,5,6,7", "--param", "sma_period=10,20", "--workers", "1",
            "--study", "sweep"]  # fmt: skip
    env = _env(DATABASE_URL=ledger_url)
    first = tmp_path / "first.json"
    storage = open_storage(parse(ledger_url))  # to watch the trials finish
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args, "--json", str(first)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while _complete_trials(storage, "sweep") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr.decode()
    kept = json.loads(first.read_text())
    assert kept["interrupted"] is True and 1 <= len(kept["trials"]) < 12
    assert "interrupted" in stdout.decode()
    # Resumed: the finished trials are not run again, the rest are, each setting once.
    second = tmp_path / "second.json"
    done = _main(tmp_path, *args, "--json", str(second), env=env)
    assert done.returncode == 0, done.stderr
    resumed = json.loads(second.read_text())
    settings = [json.dumps(t["params"], sort_keys=True) for t in resumed["trials"]]
    assert len(settings) == len(set(settings)) == 12
    earlier = {t["number"]: t for t in kept["trials"]}
    for trial in resumed["trials"]:
        if trial["number"] in earlier:
            assert trial == earlier[trial["number"]]
    assert "kept as study sweep in" in done.stdout


def test_walk_forward_scores_each_winner_out_of_sample(tmp_path: Path) -> None:
    data = _write_klines(tmp_path / "klines.json", 7_000)
    out = tmp_path / "wf.json"
    done = _main(
        tmp_path, "optimize", "--data", str(data), "--symbol", "BTCUSDT",
        "--param", "ema_period=3,5", "--param", "sma_period=10,20", "--walk-forward", "2",
        "--gap", "30", "--workers", "1", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    windows = doc["walk_forward"]["windows"]
    assert len(windows) == 2 and "walk-forward:" in done.stdout
    part = 7_000 // 5  # K + 3 parts
    for n, window in enumerate(windows):
        trials = [t for t in doc["trials"] if t["window"] == n]
        assert len(trials) == window["trials"] == 4
        # The winner is the in-sample trial with the best return, scored on later candles.
        best = max(trials, key=lambda t: (Decimal(t["metrics"]["return_pct"]), -t["number"]))
        assert window["params"] == best["params"]
        assert window["in_sample_metrics"] == best["metrics"]
        start = 1_704_067_200_000 + n * part * 60_000
        assert window["in_sample"][0] == start
        assert window["out_of_sample"][0] == start + (3 * part + 30) * 60_000
        assert window["out_of_sample"][0] > window["in_sample"][1]
        is_ret = Decimal(best["metrics"]["return_pct"])
        oos_ret = Decimal(window["out_of_sample_metrics"]["return_pct"])
        if is_ret > 0:
            expected = (float(oos_ret) / (part - 30)) / (float(is_ret) / (3 * part))
            assert window["wfe"] == pytest.approx(expected)
        else:
            assert window["wfe"] is None
        assert window["deflated_sharpe"] is None or 0 <= window["deflated_sharpe"] <= 1
    # Out-of-sample figures are a backtest of the winner over that span alone.
    first = windows[0]
    span = [datetime.fromtimestamp(ms / 1000, UTC).isoformat() for ms in first["out_of_sample"]]
    report_path = tmp_path / "oos.json"
    single = _main(
        tmp_path, "backtest", "--data", str(data), "--symbol", "BTCUSDT", "--from", span[0],
        "--to", span[1], "--report", str(report_path),
        env=_env(VARIANTS=_entry({"stop_loss": "0.10", **first["params"]})),
    )  # fmt: skip
    assert single.returncode == 0, single.stderr
    assert json.loads(report_path.read_text())["metrics"]["A"] == first["out_of_sample_metrics"]
