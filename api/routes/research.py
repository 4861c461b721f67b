"""Backtests and optimisations of the stored candles, started from the dashboard (research.jobs).

Starting and stopping need the token (they start processes on the service's machine); one job
runs at a time (409 otherwise). A job's report is served as a sandboxed page: its inline
scripts run only by their hashes, in an opaque origin that can reach nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import TokenRequired
from api.deps import ServiceDep, normalise_symbol
from api.schemas import errors
from api.serialize import iso_ms
from research.jobs import Job, JobBusyError, ResearchJobs
from research.plans import (
    MAX_TRIALS,
    OBJECTIVES,
    SAMPLERS,
    BacktestPlan,
    OptimizePlan,
    PlanError,
    check_optimize,
)

router = APIRouter(prefix="/research", tags=["research"])

JobId = Path(ge=1, le=2**31 - 1)
_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


class BacktestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9]+$")


class OptimizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9]+$")
    variant: str = Field(
        min_length=1, max_length=8, pattern=r"^[A-Za-z0-9]+$",
        description="the live variant whose strategy and interval are searched",
    )  # fmt: skip
    params: list[Annotated[str, StringConstraints(min_length=3, max_length=200)]] = Field(
        min_length=1, max_length=8,
        description="NAME=V1,V2 or NAME=LO:HI:STEP (both ends included), as `main.py optimize"
        " --param`: the strategy's parameters and stop_loss",
    )  # fmt: skip
    sampler: str = Field(default="grid", json_schema_extra={"enum": list(SAMPLERS)})
    trials: int | None = Field(default=None, ge=1, le=MAX_TRIALS)
    objective: str = Field(default="return", json_schema_extra={"enum": list(OBJECTIVES)})
    min_trades: int = Field(default=0, ge=0, le=1_000_000)


class ProgressOut(BaseModel):
    search: str = Field(description="'trials', or the walk-forward window")
    done: int
    total: int
    best: str | None = Field(description="the best trial so far and its objective")


class JobOut(BaseModel):
    id: int
    kind: Literal["backtest", "optimize"]
    state: Literal["exporting", "running", "done", "failed", "stopped", "lost"]
    symbol: str
    request: dict[str, Any] = Field(description="what was asked")
    created_ms: int
    created_iso: str
    finished_ms: int | None
    candles: int | None = Field(description="stored 1-minute candles it runs on")
    progress: ProgressOut | None = Field(description="an optimisation's trials so far")
    error: str | None = Field(description="why it failed, as the command said it")
    summary: dict[str, Any] | None = Field(
        description="backtest: candles, start_ms, end_ms, metrics (per variant and symbol, as"
        " `main.py backtest --report` writes them), portfolio; optimize: best (params and"
        " metrics), trials, interrupted, objective"
    )
    study: str | None = Field(description="the optimisation's study (GET /optimizations)")
    output: list[str] = Field(description="the last lines the command printed")
    report_url: str | None = Field(description="its HTML report, once written")


def _jobs(request: Request) -> ResearchJobs:
    jobs: ResearchJobs | None = request.app.state.research
    if jobs is None:
        raise HTTPException(503, detail="research jobs are not available in this process")
    return jobs


def _out(job: Job) -> JobOut:
    data = job.to_json()
    data.pop("report")
    return JobOut(
        **data,
        created_iso=iso_ms(job.created_ms),
        report_url=f"/research/jobs/{job.id}/report" if job.report else None,
    )


def _found(jobs: ResearchJobs, job_id: int) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, detail=f"no research job {job_id} (see GET /research/jobs)")
    return job


def _started(start: Any) -> JobOut:
    try:
        return _out(start())
    except JobBusyError as exc:
        raise HTTPException(409, detail=str(exc)) from None


@router.post(
    "/backtests", response_model=JobOut, status_code=202, dependencies=[TokenRequired],
    responses=errors(401, 409, 422, 503),
)  # fmt: skip
async def start_backtest(request: Request, service: ServiceDep, body: BacktestIn) -> JobOut:
    """Backtest the variants as they run now on the stored candles of one symbol."""
    jobs = _jobs(request)
    plan = BacktestPlan(normalise_symbol(body.symbol), tuple(service.controls.variants()))
    return _started(lambda: jobs.start_backtest(plan, body.model_dump()))


@router.post(
    "/optimizations", response_model=JobOut, status_code=202, dependencies=[TokenRequired],
    responses=errors(401, 404, 409, 422, 503),
)  # fmt: skip
async def start_optimization(request: Request, service: ServiceDep, body: OptimizeIn) -> JobOut:
    """Search a live variant's strategy parameters and stop-loss on the stored candles of one
    symbol (one local worker); a value the optimiser would refuse is a 422 naming the field."""
    jobs = _jobs(request)
    live = {v.name: v for v in service.controls.variants()}
    if body.variant not in live:
        raise HTTPException(404, detail=f"variant {body.variant!r} is not one of {list(live)}")
    plan = OptimizePlan(
        normalise_symbol(body.symbol), live[body.variant], tuple(body.params), body.sampler,
        body.trials, body.objective, body.min_trades,
    )  # fmt: skip
    try:
        check_optimize(plan)
    except PlanError as exc:
        detail = [{"type": "value_error", "loc": ["body", exc.field], "msg": str(exc)}]
        raise HTTPException(422, detail=detail) from None
    return _started(lambda: jobs.start_optimize(plan, body.model_dump()))


@router.get("/jobs", response_model=list[JobOut], responses=errors(503))
async def list_jobs(request: Request) -> list[JobOut]:
    """Every job this service knows, newest first (the newest 50)."""
    return [_out(job) for job in _jobs(request).jobs()]


@router.get("/jobs/{job_id}", response_model=JobOut, responses=errors(404, 422, 503))
async def one_job(request: Request, job_id: int = JobId) -> JobOut:
    return _out(_found(_jobs(request), job_id))


@router.post(
    "/jobs/{job_id}/stop", response_model=JobOut, dependencies=[TokenRequired],
    responses=errors(401, 404, 422, 503),
)  # fmt: skip
async def stop_job(request: Request, job_id: int = JobId) -> JobOut:
    """Interrupt a running job as Ctrl-C does (an optimisation keeps its finished trials);
    its state turns `stopped` once the command has ended."""
    jobs = _jobs(request)
    _found(jobs, job_id)
    job = await jobs.stop(job_id)
    assert job is not None
    return _out(job)


_PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report page",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/jobs/{job_id}/report", response_model=None, responses={**_PAGE, **errors(404, 422, 503)}
)  # fmt: skip
async def report(request: Request, job_id: int = JobId) -> HTMLResponse:
    """The job's self-contained HTML report."""
    jobs = _jobs(request)
    job = _found(jobs, job_id)
    if not job.report:
        raise HTTPException(404, detail=f"research job {job_id} has no report ({job.state})")
    try:
        page = await asyncio.to_thread(jobs.report_path(job).read_bytes)
    except OSError:
        raise HTTPException(404, detail=f"research job {job_id}: its report is gone") from None
    return HTMLResponse(page, headers=report_headers(page))


def report_headers(page: bytes) -> dict[str, str]:
    """A report runs its own inline scripts (allowed by hash) and nothing else, sandboxed."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _SCRIPT.findall(page)
    )
    scripts = hashes or "'none'"
    csp = (
        f"sandbox allow-scripts; default-src 'none'; script-src {scripts}; "
        "style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none';"
        " form-action 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
        "Referrer-Policy": "no-referrer",
    }
