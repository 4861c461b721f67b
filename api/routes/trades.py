"""GET /trades: filled orders from the ledger, a page at a time; GET /trades/round-trips."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.convert import round_trip_out, trade_out
from api.deps import NEXT_CURSOR, Cursor, ServiceDep, SinceMs, SymbolQuery, UntilMs, VariantQuery
from api.schemas import RoundTripOut, TradeOut, errors
from execution.ledger import Filters

router = APIRouter(prefix="/trades", tags=["trades"])


@router.get("", response_model=list[TradeOut], responses=errors(422))
async def trades(
    service: ServiceDep,
    response: Response,
    symbol: SymbolQuery = None,
    variant: VariantQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    since: SinceMs = None,
    until: UntilMs = None,
    cursor: Cursor = None,
) -> list[TradeOut]:
    """The newest `limit` fills older than `cursor` (oldest first), filtered by symbol,
    variant and fill time, from the ledger's indexes. The response's `X-Next-Cursor` header,
    when present, asks for the page before it."""
    filters = Filters(variant, symbol.upper() if symbol else None, since, until)
    page = await service.ledger.fills_page(filters, limit, cursor)
    if page.next is not None:
        response.headers[NEXT_CURSOR] = str(page.next)
    return [trade_out(r) for r in page.rows]


@router.get("/round-trips", response_model=list[RoundTripOut], responses=errors(422))
async def round_trips(
    service: ServiceDep,
    response: Response,
    symbol: SymbolQuery = None,
    variant: VariantQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    since: SinceMs = None,
    until: UntilMs = None,
    cursor: Cursor = None,
) -> list[RoundTripOut]:
    """Closed round trips, the newest `limit` before `cursor` (oldest first), filtered by
    symbol, variant and exit time: entry and exit, duration, P&L and %, fees, exit reason
    (execution.performance defines them), from the ledger. The `X-Next-Cursor` header, when
    present, asks for the page before it."""
    filters = Filters(variant, symbol.upper() if symbol else None, since, until)
    page = await service.ledger.round_trips_page(filters, limit, cursor, service.performance.fee)
    if page.next is not None:
        response.headers[NEXT_CURSOR] = str(page.next)
    return [round_trip_out(v, s, t) for v, s, t in page.rows]
