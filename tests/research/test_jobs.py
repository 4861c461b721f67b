"""Research jobs with real `main.py` children: a backtest of stored candles, a failure told in
the child's words, one job at a time, an optimisation stopped as Ctrl-C stops it (its finished
trials kept in the study), the service's end ending the child and its workers, and the jobs of
an earlier run listed again (one that was running then is `lost`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from aggregation.warmup import kline_to_candle
from backtest.klines import read_kline_json
from config import Settings, load_settings
from optimize.studies import StudyReader
from research.jobs import Job, JobBusyError, JobState, ResearchJobs, summarize
from research.plans import BacktestPlan, OptimizePlan
from storage.url import parse
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

KLINES = ROOT / "tests" / "data" / "binance" / "testnet-btcusdt-2026-06-15" / "klines_1m.json"
RECORDED = [kline_to_candle("BTCUSDT", row) for row in json.loads(KLINES.read_text())]


def _settings() -> Settings:
    return load_settings(None, variants="A:0.15,B:0.10:ema_sma(3,12)@1m", paper_fee_rate="0.001")


def _jobs(
    tmp: Path, stored: Any = lambda symbol: RECORDED, database: str | None = None
) -> ResearchJobs:
    settings = _settings()
    return ResearchJobs(
        tmp / "research", settings, stored=stored, variants=lambda: settings.variant_settings,
        wall=lambda: int(time.time() * 1000), database_url=database,
    )  # fmt: skip


async def _ended(job: Job, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout * 10)):
        if job.state not in (JobState.EXPORTING, JobState.RUNNING) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert job.state not in (JobState.EXPORTING, JobState.RUNNING), job


async def test_a_backtest_of_stored_candles_is_the_commands_report_and_is_listed_after_a_restart(
    tmp_path: Path,
) -> None:
    jobs = _jobs(tmp_path)
    settings = _settings()
    job = jobs.start_backtest(BacktestPlan("BTCUSDT", tuple(settings.variant_settings)), {})
    with pytest.raises(JobBusyError):  # one at a time
        jobs.start_backtest(BacktestPlan("BTCUSDT", tuple(settings.variant_settings)), {})
    await _ended(job)
    assert job.state is JobState.DONE, job.error
    # The child ran on exactly the stored candles.
    exported = read_kline_json(job.folder / "BTCUSDT-1m-stored.json", "BTCUSDT")
    assert [c.to_kline_row() for c in exported] == [c.to_kline_row() for c in RECORDED]
    report = json.loads((job.folder / "report.json").read_text())
    assert job.summary == summarize("backtest", report)
    assert job.candles == report["candles"] == len(RECORDED)
    # The variants as they run now, with the service's fees.
    assert report["fee_rate"] == "0.001"
    assert {name: p["strategy"] for name, p in report["parameters"].items()} == {
        "A": "ema_sma(ema_period=5,sma_period=10)@1m",
        "B": "ema_sma(ema_period=3,sma_period=12)@1m",
    }
    assert set(job.summary["metrics"]) == {"A", "B", "all"}
    assert job.report and (job.folder / "report.html").stat().st_size > 10_000
    assert any("A" in line for line in job.output)  # the summary the command printed

    again = _jobs(tmp_path)
    await again.load()
    (listed,) = again.jobs()
    assert listed.to_json() == job.to_json()
    # A job recorded as running when the service died is lost, and says so.
    record = json.loads((job.folder / "job.json").read_text())
    record.update(id=2, state="running", summary=None)
    (tmp_path / "research" / "00002-backtest").mkdir()
    (tmp_path / "research" / "00002-backtest" / "job.json").write_text(json.dumps(record))
    (tmp_path / "research" / "00003-optimize").mkdir()
    (tmp_path / "research" / "00003-optimize" / "job.json").write_text("{not json")
    third = _jobs(tmp_path)
    await third.load()
    assert [(j.id, j.state) for j in third.jobs()] == [(2, JobState.LOST), (1, JobState.DONE)]
    assert third.get(2).error == "the service stopped while this job ran"  # type: ignore[union-attr]
    assert third.start_backtest(BacktestPlan("BTCUSDT", ()), {}).id == 3
    await third.close()


async def test_a_failure_is_told_in_the_commands_words(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, stored=lambda symbol: [])
    job = jobs.start_backtest(BacktestPlan("ETHUSDT", ()), {})
    await _ended(job)
    assert (job.state, job.error) == (JobState.FAILED, "no stored candles of ETHUSDT yet")

    # A ledger the optimiser cannot join: its own one-line refusal, nothing else.
    odd = _jobs(tmp_path / "odd", database="mysql://someone@127.0.0.1/ledger")
    settings = _settings()
    plan = OptimizePlan("BTCUSDT", settings.variant_settings[0], ("ema_period=3,5",))
    job = odd.start_optimize(plan, {})
    await _ended(job)
    assert job.state is JobState.FAILED
    assert job.error is not None and job.error.startswith("optimize: "), job.error
    assert "mysql" in job.error and "\n" not in job.error
    await odd.close()


def _children(name: str) -> list[psutil.Process]:
    """This process's descendants whose command line holds `name`."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if name in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


async def test_an_optimisation_stops_as_ctrl_c_stops_it_and_keeps_its_trials(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path}/ledger.db"
    jobs = _jobs(tmp_path, database=database)
    settings = _settings()
    plan = OptimizePlan("BTCUSDT", settings.variant_settings[0],
                        ("ema_period=2:8:1", "sma_period=9:40:1"), "random", 400)  # fmt: skip
    job = jobs.start_optimize(plan, {"variant": "A"})
    for _ in range(1200):
        if (job.progress is not None and job.progress["done"] >= 3) or job.state not in (
            JobState.EXPORTING,
            JobState.RUNNING,
        ):
            break
        await asyncio.sleep(0.1)
    assert job.progress is not None and job.progress["total"] == 400, job
    assert job.progress["best"].startswith("best #")
    await jobs.stop(job.id)
    await _ended(job, 60)
    assert job.state is JobState.STOPPED
    assert job.summary is not None and job.summary["interrupted"] is True
    assert 3 <= job.summary["trials"] < 400
    # The finished trials are in the study beside the ledger (GET /optimizations reads them).
    names = [s["name"] for s in StudyReader(parse(database)).summaries()]
    assert job.study in names
    assert _children(str(job.folder)) == []  # the child and its workers are gone


async def test_the_services_end_ends_a_running_child_and_its_workers(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, database=f"sqlite:///{tmp_path}/ledger.db")
    settings = _settings()
    plan = OptimizePlan("BTCUSDT", settings.variant_settings[0],
                        ("ema_period=2:8:1", "sma_period=9:40:1"), "random", 400)  # fmt: skip
    job = jobs.start_optimize(plan, {})
    for _ in range(1200):
        if job.progress is not None:
            break
        await asyncio.sleep(0.1)
    assert _children(str(job.folder)), "the optimiser runs"
    await jobs.close()
    assert job.state is JobState.STOPPED
    assert _children(str(job.folder)) == []
    record = json.loads((job.folder / "job.json").read_text())
    assert record["state"] == "stopped"
    # What it had finished is reported, as after a Stop.
    assert record["summary"]["interrupted"] is True and record["summary"]["trials"] >= 1
    assert record["report"] is True


def test_a_service_killed_mid_optimisation_leaves_no_process_behind(tmp_path: Path) -> None:
    """SIGKILL gives the service no chance to stop its child. The child still ends with it (its
    next progress line meets the dead service's closed pipe; 3 s here) and its Dask workers
    with it: nothing keeps running alone. After a restart the job reads `lost`."""
    import signal
    import subprocess
    import sys

    import httpx

    from tests.api.support import empty_env, free_port
    from tests.service.test_e2e import wait_healthy

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    env.update(API_TOKEN="t0ken-" + "x" * 20, RESEARCH_DIR=str(tmp_path / "research"))
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "600", "--port", str(port),
           "--database", f"sqlite:///{tmp_path}/ledger.db", "--journal",
           str(tmp_path / "journal.jsonl"), "--env-file", str(empty_env(tmp_path))]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {env['API_TOKEN']}"}

    def start() -> subprocess.Popen[bytes]:
        log = (tmp_path / "service.log").open("ab")
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    proc = start()
    try:
        asyncio.run(wait_healthy(base, proc, timeout=60))
        deadline = time.monotonic() + 60
        while True:  # a few minutes of stored candles (600x: a minute every 0.1 s)
            series = httpx.get(f"{base}/candles/BTCUSDT?limit=1000", timeout=10).json()
            if sum(c["source"] != "warmup" for c in series["candles"]) >= 60:
                break
            assert time.monotonic() < deadline, "no candles stored"
            time.sleep(0.5)
        body = {"symbol": "BTCUSDT", "variant": "A", "sampler": "random", "trials": 2000,
                "params": ["ema_period=2:9:1", "sma_period=10:60:1"]}  # fmt: skip
        job = httpx.post(f"{base}/research/optimizations", json=body, headers=auth, timeout=10)
        assert job.status_code == 202, job.text
        folder = str(tmp_path / "research")
        for _ in range(600):
            progress = httpx.get(f"{base}/research/jobs/1", timeout=10).json()["progress"]
            if progress is not None:
                break
            time.sleep(0.1)
        assert progress is not None, "the optimisation did not start"
        (child,) = [p for p in psutil.process_iter(["cmdline"])
                    if folder in " ".join(p.info["cmdline"] or ())]  # fmt: skip
        family = [child, *child.children(recursive=True)]  # the optimiser and its workers
        assert len(family) >= 2, family
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _, alive = psutil.wait_procs(family, timeout=60)
        assert alive == [], [(p.pid, p.cmdline()) for p in alive]
        proc = start()
        asyncio.run(wait_healthy(base, proc, timeout=60))
        lost = httpx.get(f"{base}/research/jobs/1", timeout=10).json()
        assert (lost["state"], lost["error"]) == ("lost", "the service stopped while this job ran")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
