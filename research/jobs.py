"""Research jobs: a backtest or an optimisation of stored candles, run as a child process.

One job at a time (the machine also trades). A job:
1. exports the symbol's stored 1-minute candles to `SYMBOL-1m-stored.json` in its folder
   (klines, the `/api/v3/klines` layout), in a thread;
2. runs `main.py backtest` or `main.py optimize` on them, with the settings that shape a
   backtest taken from the running service (the variants as they run now, capital, fees,
   order sizes, risk limits: `child_settings`), in its own session so that the service's
   Ctrl-C is not the child's;
3. reads the optimiser's progress lines from the child's stdout, and keeps the last lines of
   its stderr to explain a failure;
4. ends `done` (with a summary of its JSON report), `failed` (with the reason) or `stopped`
   (SIGINT: the optimiser keeps and reports its finished trials).

`job.json` in the folder records each job; at start the service lists the recorded jobs again
(a job that was running when the service died is `lost`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from aggregation.models import Candle
from config import Settings
from core.tasks import TaskOwner
from core.variants import VariantSettings
from research.plans import (
    REPORT_HTML,
    REPORT_JSON,
    BacktestPlan,
    OptimizePlan,
    backtest_command,
    candles_file,
    optimize_command,
    variants_setting,
)

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
JOB_FILE = "job.json"
KEPT_JOBS = 50  # listed; older folders stay on disk
STOP_GRACE_S = 20.0  # after SIGINT, before SIGKILL of the child's whole session
TAIL_LINES = 20


class JobState(StrEnum):
    EXPORTING = "exporting"  # writing the stored candles for the child
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"
    LOST = "lost"  # the service ended while it ran


ACTIVE = (JobState.EXPORTING, JobState.RUNNING)


class JobBusyError(Exception):
    """A job is already running; one at a time."""

    def __init__(self, running: int) -> None:
        super().__init__(f"research job {running} is still running; stop it or wait")
        self.running = running


@dataclass(slots=True)
class Job:
    id: int
    kind: str  # backtest | optimize
    symbol: str
    request: dict[str, Any]  # what was asked, as the page sent it
    folder: Path
    created_ms: int
    state: JobState = JobState.EXPORTING
    finished_ms: int | None = None
    candles: int | None = None
    progress: dict[str, Any] | None = None  # {"search", "done", "total", "best"}
    error: str | None = None
    summary: dict[str, Any] | None = None
    study: str | None = None
    output: list[str] = field(default_factory=list)  # the child's printed summary
    report: bool = False  # its HTML report exists

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "symbol": self.symbol, "request": self.request,
            "created_ms": self.created_ms, "state": self.state.value,
            "finished_ms": self.finished_ms, "candles": self.candles, "progress": self.progress,
            "error": self.error, "summary": self.summary, "study": self.study,
            "output": self.output, "report": self.report,
        }  # fmt: skip

    @classmethod
    def from_json(cls, folder: Path, data: dict[str, Any]) -> Job:
        job = cls(
            id=int(data["id"]), kind=str(data["kind"]), symbol=str(data["symbol"]),
            request=dict(data.get("request") or {}), folder=folder,
            created_ms=int(data["created_ms"]), state=JobState(data["state"]),
        )  # fmt: skip
        job.finished_ms = data.get("finished_ms")
        job.candles = data.get("candles")
        job.progress = data.get("progress")
        job.error = data.get("error")
        job.summary = data.get("summary")
        job.study = data.get("study")
        job.output = list(data.get("output") or [])
        job.report = bool(data.get("report"))
        if job.state in ACTIVE:
            job.state = JobState.LOST
            job.error = job.error or "the service stopped while this job ran"
        return job


def child_settings(settings: Settings, variants: Iterable[VariantSettings]) -> dict[str, str]:
    """The environment that makes the child's settings the running service's where they shape
    a backtest (environment variables win over the child's .env)."""
    quantities = ",".join(f"{s}={q}" for s, q in settings.order_quantities.items())
    env = {
        "VARIANTS": variants_setting(list(variants)),
        "VARIANT_CAPITAL": str(settings.variant_capital),
        "PAPER_FEE_RATE": str(settings.paper_fee_rate),
        "ORDER_QUANTITIES": quantities,
        "ORDER_QUOTE_DEFAULT": str(settings.order_quote_default),
        "RISK_MAX_POSITION_QUOTE": str(settings.risk_max_position_quote),
        "RISK_DAILY_LOSS_LIMIT_QUOTE": str(settings.risk_daily_loss_limit_quote),
        "RISK_MAX_ORDERS_PER_DAY": str(settings.risk_max_orders_per_day),
        "CANDLE_HISTORY": str(settings.candle_history),
        "API_PORT": str(settings.api_port),  # the optimiser prints a call to this service
        "LOG_LEVEL": "WARNING",
    }
    return env


def summarize(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a finished job's JSON report (the report file has the rest)."""
    if kind == "optimize":
        return {
            "best": report.get("best"),
            "trials": len(report.get("trials") or ()),
            "interrupted": bool(report.get("interrupted")),
            "objective": report.get("objective"),
        }
    return {
        "candles": report.get("candles"),
        "start_ms": report.get("start_ms"),
        "end_ms": report.get("end_ms"),
        "metrics": report.get("metrics"),
        "portfolio": report.get("portfolio"),
    }


def write_candles(path: Path, candles: list[Candle]) -> None:
    """`candles` as a klines JSON file (what `main.py backtest --data` reads)."""
    rows = [c.to_kline_row() for c in candles]
    path.write_text(json.dumps(rows, separators=(",", ":")))


class ResearchJobs:
    """Starts, watches, stops and lists research jobs. `stored(symbol)` returns the ledger's
    stored candles of a symbol (blocking: called in a thread); `variants()` the variants as
    they run now; `wall()` the real time in ms; `database_url` the ledger the optimiser's
    studies join (kept out of the child's command line)."""

    def __init__(
        self,
        folder: Path,
        settings: Settings,
        stored: Callable[[str], list[Candle]],
        variants: Callable[[], list[VariantSettings]],
        wall: Callable[[], int],
        database_url: str | None = None,
        python: str = sys.executable,
    ) -> None:
        self._folder = folder.resolve()  # the child is given absolute paths
        self._settings = settings
        self._stored = stored
        self._variants = variants
        self._wall = wall
        self._database_url = database_url
        self._python = python
        self._jobs: dict[int, Job] = {}
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._stopping: set[int] = set()
        self._tasks = TaskOwner("research")

    # -- reading -------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every known job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.id, reverse=True)

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def running(self) -> Job | None:
        return next((j for j in self._jobs.values() if j.state in ACTIVE), None)

    def report_path(self, job: Job) -> Path:
        return job.folder / REPORT_HTML

    async def load(self) -> None:
        """The jobs recorded by earlier runs (newest KEPT_JOBS)."""
        found = await asyncio.to_thread(self._read_recorded)
        for job in found:
            self._jobs[job.id] = job

    def _read_recorded(self) -> list[Job]:
        if not self._folder.is_dir():
            return []
        found: list[Job] = []
        for path in self._folder.glob(f"*/{JOB_FILE}"):
            try:
                found.append(Job.from_json(path.parent, json.loads(path.read_text())))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("research: %s cannot be read (%s); left out", path, exc)
        found.sort(key=lambda j: j.id, reverse=True)
        return found[:KEPT_JOBS]

    # -- starting ------------------------------------------------------------------------------

    def start_backtest(self, plan: BacktestPlan, request: dict[str, Any]) -> Job:
        job = self._new("backtest", plan.symbol, request)
        self._tasks.spawn(self._run(job, backtest_command(plan, job.folder)), f"job-{job.id}")
        return job

    def start_optimize(self, plan: OptimizePlan, request: dict[str, Any]) -> Job:
        job = self._new("optimize", plan.symbol, request)
        job.study = f"research-{job.id}-{job.created_ms}"
        command = optimize_command(plan, job.folder, job.study)
        self._tasks.spawn(self._run(job, command), f"job-{job.id}")
        return job

    def _new(self, kind: str, symbol: str, request: dict[str, Any]) -> Job:
        busy = self.running()
        if busy is not None:
            raise JobBusyError(busy.id)
        job_id = max(self._jobs, default=0) + 1
        folder = self._folder / f"{job_id:05d}-{kind}"
        job = Job(job_id, kind, symbol, request, folder, self._wall())
        self._jobs[job_id] = job
        for old in sorted(self._jobs)[:-KEPT_JOBS]:
            del self._jobs[old]
        return job

    async def _run(self, job: Job, command: list[str]) -> None:
        try:
            job.candles = await asyncio.to_thread(self._export, job)
            if job.candles == 0:
                raise _JobFailed(f"no stored candles of {job.symbol} yet")
            job.state = JobState.RUNNING
            await self._record(job)
            code, errors = await self._child(job, command)
            if job.id in self._stopping:
                job.state = JobState.STOPPED
            elif code != 0:
                raise _JobFailed(errors or f"{job.kind} ended with exit code {code}")
            else:
                job.state = JobState.DONE
            await self._read_report(job)
        except _JobFailed as exc:
            job.state, job.error = JobState.FAILED, str(exc)
        except OSError as exc:  # an unwritable folder, a python that cannot start
            job.state, job.error = JobState.FAILED, f"{type(exc).__name__}: {exc.strerror or exc}"
        except asyncio.CancelledError:  # the service stops: the child was interrupted
            job.state, job.error = JobState.STOPPED, "the service stopped"
            job.finished_ms = self._wall()
            with contextlib.suppress(Exception):
                await self._read_report(job)  # an optimisation reports its finished trials
                await self._record(job)
            raise
        finally:
            self._stopping.discard(job.id)
        job.finished_ms = self._wall()
        log.info("research job %d (%s %s): %s%s", job.id, job.kind, job.symbol, job.state.value,
                 f": {job.error}" if job.error else "")  # fmt: skip
        with contextlib.suppress(OSError):
            await self._record(job)

    def _export(self, job: Job) -> int:
        job.folder.mkdir(parents=True, exist_ok=True)
        self._write_record(job)
        candles = self._stored(job.symbol)
        if candles:
            write_candles(job.folder / candles_file(job.symbol), candles)
        return len(candles)

    async def _child(self, job: Job, command: list[str]) -> tuple[int, str]:
        env = {**os.environ, **child_settings(self._settings, self._variants())}
        if self._database_url is not None:
            env["DATABASE_URL"] = self._database_url
        proc = await asyncio.create_subprocess_exec(
            self._python, str(ROOT / "main.py"), *command,
            env=env, stdin=asyncio.subprocess.DEVNULL,  # the service's folder: relative paths agree
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: the service's Ctrl-C is not its
        )  # fmt: skip
        self._procs[job.id] = proc
        errors: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        try:
            assert proc.stdout is not None and proc.stderr is not None
            await asyncio.gather(
                self._read_stdout(job, proc.stdout), _read_lines(proc.stderr, errors.append)
            )
            code = await proc.wait()
        except asyncio.CancelledError:
            await self._end(proc)
            raise
        finally:
            self._procs.pop(job.id, None)
        return code, _reason(errors)

    async def _read_stdout(self, job: Job, stream: asyncio.StreamReader) -> None:
        output: collections.deque[str] = collections.deque(maxlen=TAIL_LINES * 3)

        def on_line(line: str) -> None:
            if line.startswith('{"progress"'):
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    job.progress = json.loads(line)["progress"]
                    return
            output.append(line)
            job.output = list(output)

        await _read_lines(stream, on_line)

    async def _read_report(self, job: Job) -> None:
        job.report = await asyncio.to_thread((job.folder / REPORT_HTML).is_file)
        try:
            text = await asyncio.to_thread((job.folder / REPORT_JSON).read_text)
            job.summary = summarize(job.kind, json.loads(text))
        except FileNotFoundError:
            return  # stopped before anything was written
        except ValueError as exc:
            job.error = f"its report cannot be read: {exc}"

    async def _record(self, job: Job) -> None:
        await asyncio.to_thread(self._write_record, job)

    def _write_record(self, job: Job) -> None:
        path = job.folder / JOB_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(job.to_json()))
        temporary.replace(path)

    # -- stopping ------------------------------------------------------------------------------

    async def stop(self, job_id: int) -> Job | None:
        """Stop a running job (SIGINT, as Ctrl-C: the optimiser reports its finished trials);
        the job's state says when it has ended."""
        job = self._jobs.get(job_id)
        if job is None or job.state not in ACTIVE:
            return job
        self._stopping.add(job_id)
        proc = self._procs.get(job_id)
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        return job

    async def close(self) -> None:
        """At the service's end: every child interrupted (then killed after STOP_GRACE_S),
        every task ended."""
        await self._tasks.cancel_all(grace_s=STOP_GRACE_S + 2)

    async def _end(self, proc: asyncio.subprocess.Process) -> None:
        """SIGINT, then after STOP_GRACE_S SIGKILL to the child's whole session (its workers)."""
        if proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


class _JobFailed(Exception):
    """Why a job failed, as the page shows it."""


async def _read_lines(stream: asyncio.StreamReader, on_line: Callable[[str], None]) -> None:
    while True:
        raw = await stream.readline()
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace").rstrip()
        if line:
            on_line(line)


def _reason(errors: Iterable[str]) -> str:
    """The child's explanation: its last line that is not a traceback's frame."""
    lines = [e for e in errors if e.strip() and not e.startswith((" ", "Traceback"))]
    return lines[-1] if lines else ""
