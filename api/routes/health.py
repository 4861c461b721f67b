"""GET /health: ok or degraded (with reasons), each symbol's feed, uptime and mode."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.schemas import HealthOut
from api.serialize import health_data

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=HealthOut, summary="Service health")
async def health(service: ServiceDep) -> HealthOut:
    """`degraded` names its reasons (exchange unreachable, a feed reconnecting or stale, …)."""
    return HealthOut.model_validate(health_data(service.health()))
