"""GET /optimizations and /optimizations/{id}: the runs of `main.py optimize` and their trials.

They are Optuna studies kept beside the ledger (optimize/studies.py); each carries its run's
report (what was searched, on which candles, with which fill model, the best trial, the
walk-forward table). Read in a thread: the studies' database is not the ledger's writer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from api.schemas import errors
from optimize.studies import StudyReader

router = APIRouter(prefix="/optimizations", tags=["optimizations"])


class OptimizationSummaryOut(BaseModel):
    id: int
    name: str = Field(description="the study name (`main.py optimize --study`)")
    started: str | None = Field(description="when its first trial started (ISO-8601)")
    trials: int = Field(description="trials of every state (complete, pruned, failed)")
    report: dict[str, Any] = Field(
        description="the run's JSON (`--json`) without its trials: strategy, symbol, sampler,"
        " objective, candles, fill model, best, walk_forward"
    )


class TrialOut(BaseModel):
    number: int
    state: str = Field(description="complete, pruned (refused or drawn again), fail, running")
    params: dict[str, Any]
    metrics: dict[str, Any] | None = Field(
        description="the backtest's per-variant figures (docs/optimize.md); null unless complete"
    )


class OptimizationOut(BaseModel):
    id: int
    name: str
    report: dict[str, Any]
    trials: list[TrialOut]


def _reader(request: Request) -> StudyReader | None:
    reader: StudyReader | None = request.app.state.studies
    return reader


async def _read(call: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(call, *args)
    except SQLAlchemyError as exc:
        raise HTTPException(
            503, detail=f"the optimisations' database cannot be read ({type(exc).__name__})"
        ) from None


@router.get("", response_model=list[OptimizationSummaryOut], responses=errors(503))
async def optimizations(request: Request) -> list[dict[str, Any]]:
    """Every optimisation run, newest first."""
    reader = _reader(request)
    if reader is None:
        return []
    found: list[dict[str, Any]] = await _read(reader.summaries)
    return found


@router.get("/{study_id}", response_model=OptimizationOut, responses=errors(404, 422, 503))
async def optimization(
    request: Request, study_id: int = Path(ge=1, le=2**31 - 1)
) -> dict[str, Any]:
    """One run with every trial."""
    reader = _reader(request)
    found: dict[str, Any] | None = None if reader is None else await _read(reader.detail, study_id)
    if found is None:
        raise HTTPException(404, detail=f"no optimisation {study_id} (see GET /optimizations)")
    return found
