"""GET /signals: what the strategy decided, from the ledger, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import NEXT_CURSOR, Cursor, ServiceDep, SinceMs, SymbolQuery, UntilMs, VariantQuery
from api.schemas import SignalOut, errors
from api.serialize import signal_data
from execution.ledger import Filters

router = APIRouter(prefix="/signals", tags=["signals"])


@router.get("", response_model=list[SignalOut], responses=errors(422))
async def signals(
    service: ServiceDep,
    response: Response,
    symbol: SymbolQuery = None,
    variant: VariantQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    since: SinceMs = None,
    until: UntilMs = None,
    cursor: Cursor = None,
) -> list[SignalOut]:
    """Crossovers, stop-losses and manual decisions, the newest `limit` older than `cursor`
    (oldest first), filtered by symbol, variant and time, from the ledger's indexes. The
    `X-Next-Cursor` header, when present, asks for the page before it."""
    filters = Filters(variant, symbol.upper() if symbol else None, since, until)
    page = await service.ledger.signals_page(filters, limit, cursor)
    if page.next is not None:
        response.headers[NEXT_CURSOR] = str(page.next)
    return [SignalOut.model_validate(signal_data(s)) for s in page.rows]
