"""GET /performance, /performance/periods and /performance/equity: live figures per variant and
symbol, realized P&L per calendar period, the equity curve."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import NEXT_CURSOR, Cursor, ServiceDep, SinceMs, UntilMs
from api.schemas import errors
from api.serialize import plain
from api.variant_schemas import (
    EquityCurveOut,
    EquityPointOut,
    PerformanceOut,
    PeriodPnlOut,
    PeriodsOut,
    performance_out,
)
from execution.ledger import Filters
from execution.numbers import quote_text
from execution.periods import Period, period_pnl

router = APIRouter(prefix="/performance", tags=["performance"])


@router.get("", response_model=PerformanceOut)
async def performance(service: ServiceDep) -> PerformanceOut:
    """Round trips, wins, win rate, realized and unrealized P&L, fees, return on capital, max
    drawdown, stops hit, exposure and average hold, per variant and per symbol, from the
    journal's fills since the last exchange reset."""
    return performance_out(service.performance.report())


@router.get("/periods", response_model=PeriodsOut, responses=errors(422))
async def periods(
    service: ServiceDep,
    period: Annotated[Period, Query(description="day, week (ISO, from Monday) or month, UTC")],
) -> PeriodsOut:
    """Each variant's realized P&L per UTC day, week or month, from the ledger's fills since
    the start of GET /performance (so the periods of a variant add up to its realized P&L
    there)."""
    start = service.performance.report().start_ms
    fills: list[tuple[str, int, Decimal | None]] = []
    cursor: int | None = None
    while True:  # the ledger's pages, newest first; the sums do not depend on the order
        page = await service.ledger.fills_page(Filters(None, None, start, None), 10_000, cursor)
        fills += [(r.variant, r.fill_time_ms or r.time_ms, r.realized_pnl) for r in page.rows]
        if page.next is None:
            break
        cursor = page.next
    rows = period_pnl(fills, period)
    out = [
        PeriodPnlOut(
            variant=r.variant,
            start_ms=r.start_ms,
            label=r.label,
            realized_pnl=quote_text(r.realized_pnl),
            fills=r.fills,
        )
        for r in rows
    ]
    return PeriodsOut(period=period, start_ms=start, periods=out)


@router.get("/equity", response_model=EquityCurveOut, responses=errors(404, 422))
async def equity(
    service: ServiceDep,
    response: Response,
    variant: Annotated[str, Query(min_length=1, max_length=8, description="e.g. A")],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 2000,
    since: SinceMs = None,
    until: UntilMs = None,
    cursor: Cursor = None,
) -> EquityCurveOut:
    """The variant's equity (capital + realized + unrealized) marked at every fill and every
    closed candle: the newest `limit` points before `cursor` (oldest first), filtered by time.
    Stored points come from the ledger's `equity` table, the newest ones (marked since the
    last checkpoint) from the live figures. The `X-Next-Cursor` header, when present, asks for
    the page before it."""
    try:
        live = service.performance.curve(variant)
    except KeyError:
        names = [v.name for v in service.controls.variants()]
        raise HTTPException(404, detail=f"variant {variant!r} is not one of {names}") from None
    page, stored_until = await service.ledger.equity_page(
        Filters(variant, None, since, until), limit, cursor
    )
    newer = [
        (t, e)
        for t, e in live
        if (stored_until is None or t > stored_until)
        and (since is None or t >= since)
        and (until is None or t < until)
        and (cursor is None or t < cursor)
    ]
    points = page.rows + newer
    nxt = page.next
    if len(points) > limit:
        points = points[-limit:]
        nxt = points[0][0]
    if nxt is not None:
        response.headers[NEXT_CURSOR] = str(nxt)
    return EquityCurveOut(
        variant=variant,
        capital=plain(service.performance.capital),
        points=[EquityPointOut(time_ms=t, equity=quote_text(e)) for t, e in points],
    )
