"""GET /signals: what the strategy decided, newest last."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServiceDep
from api.schemas import SignalOut, errors
from api.serialize import signal_data

router = APIRouter(prefix="/signals", tags=["signals"])


@router.get("", response_model=list[SignalOut], responses=errors(422))
async def signals(
    service: ServiceDep,
    symbol: Annotated[str | None, Query()] = None,
    variant: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[SignalOut]:
    """Crossovers, stop-losses and manual decisions, filtered by symbol and variant."""
    found = service.signals.query(symbol.upper() if symbol else None, variant, limit)
    return [SignalOut.model_validate(signal_data(s)) for s in found]
