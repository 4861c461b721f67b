"""GET /trades: filled orders from the journal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.convert import trade_out
from api.deps import ServiceDep
from api.schemas import TradeOut, errors

router = APIRouter(prefix="/trades", tags=["trades"])


@router.get("", response_model=list[TradeOut], responses=errors(422))
async def trades(
    service: ServiceDep,
    symbol: Annotated[str | None, Query()] = None,
    variant: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    since: Annotated[int | None, Query(ge=0, description="fill time from, epoch ms")] = None,
) -> list[TradeOut]:
    """The newest `limit` fills (oldest first), filtered by symbol, variant and time."""
    records = service.ledger.trades(symbol.upper() if symbol else None, variant, since, limit)
    return [trade_out(r) for r in records]
