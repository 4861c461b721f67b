"""GET /strategy: parameters, variants, indicator values and readiness per symbol."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.schemas import StrategyOut
from pipeline.wire import to_data

router = APIRouter(prefix="/strategy", tags=["strategy"])


@router.get("", response_model=StrategyOut)
async def strategy(service: ServiceDep) -> StrategyOut:
    """What the strategy runs with and where its indicators stand. Never a secret."""
    settings = service.settings
    snapshot = to_data(service.engine.snapshot())
    return StrategyOut(
        strategy=str(snapshot.get("strategy", "")),
        ema_period=settings.ema_period,
        sma_period=settings.sma_period,
        variants=snapshot.get("variants", []),
        symbols=snapshot.get("symbols", {}),
    )
