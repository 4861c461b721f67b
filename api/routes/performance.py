"""GET /performance and GET /performance/equity: live figures per variant and symbol."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.deps import ServiceDep
from api.schemas import errors
from api.serialize import plain
from api.variant_schemas import (
    EquityCurveOut,
    EquityPointOut,
    PerformanceOut,
    performance_out,
)

router = APIRouter(prefix="/performance", tags=["performance"])
_Q = Decimal("1e-8")


@router.get("", response_model=PerformanceOut)
async def performance(service: ServiceDep) -> PerformanceOut:
    """Round trips, wins, win rate, realized and unrealized P&L, fees, return on capital, max
    drawdown, stops hit, exposure and average hold, per variant and per symbol, from the
    journal's fills since the last exchange reset."""
    return performance_out(service.performance.report())


@router.get("/equity", response_model=EquityCurveOut, responses=errors(404, 422))
async def equity(
    service: ServiceDep,
    variant: Annotated[str, Query(min_length=1, max_length=8, description="e.g. A")],
) -> EquityCurveOut:
    """The variant's equity (capital + realized + unrealized) marked at every fill and every
    closed candle, oldest first; bounded in memory (older stretches are thinned)."""
    try:
        points = service.performance.curve(variant)
    except KeyError:
        names = [v.name for v in service.controls.variants()]
        raise HTTPException(404, detail=f"variant {variant!r} is not one of {names}") from None
    return EquityCurveOut(
        variant=variant,
        capital=plain(service.performance.capital),
        points=[EquityPointOut(time_ms=t, equity=plain(e.quantize(_Q))) for t, e in points],
    )
