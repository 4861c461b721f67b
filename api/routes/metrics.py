"""GET /metrics: Prometheus text from the service's own registry."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ServiceDep
from pipeline.metrics import CONTENT_TYPE

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get(
    "",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(service: ServiceDep) -> Response:
    """Ticks, candles, late trades, gaps, reconnects, orders, latency, clients, loop lag."""
    return Response(service.metrics.render(), media_type=CONTENT_TYPE)
