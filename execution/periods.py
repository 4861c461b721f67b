"""Realized P&L per calendar period (UTC day, ISO week, month), from the fills.

A period's P&L is the sum of the realized P&L of the fills whose fill time falls in it: SELL
fills at average cost, fees included (the figure `RiskManager`'s daily loss limit and the daily
summary count per day). Buys realize nothing; they are counted in `fills`. Pure: the caller
reads the fills (GET /performance/periods reads them from the ledger).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class PeriodPnl:
    variant: str
    start_ms: int  # the period's first millisecond, UTC
    label: str  # 2026-12-07, 2026-W49, 2026-12
    realized_pnl: Decimal
    fills: int


def period_start(time_ms: int, period: Period) -> tuple[int, str]:
    """The UTC period holding `time_ms`: its first millisecond and its label."""
    when = datetime.fromtimestamp(time_ms / 1000, UTC)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, label = day, day.strftime("%Y-%m-%d")
    elif period == "week":
        start = day - timedelta(days=day.weekday())  # Monday
        year, week, _ = start.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        start, label = day.replace(day=1), day.strftime("%Y-%m")
    return int(start.timestamp() * 1000), label


def period_pnl(fills: Iterable[tuple[str, int, Decimal | None]], period: Period) -> list[PeriodPnl]:
    """(variant, fill time ms, realized P&L or None) -> one row per variant and period with a
    fill, oldest first, then by variant."""
    labels: dict[int, str] = {}
    pnl: dict[tuple[int, str], Decimal] = {}
    count: dict[tuple[int, str], int] = {}
    for variant, time_ms, realized in fills:
        start, labels[start] = period_start(time_ms, period)
        key = (start, variant)
        pnl[key] = pnl.get(key, Decimal(0)) + (realized or Decimal(0))
        count[key] = count.get(key, 0) + 1
    return [
        PeriodPnl(variant, start, labels[start], pnl[(start, variant)], count[(start, variant)])
        for start, variant in sorted(pnl)
    ]
