"""Realized P&L per UTC day, ISO week and month (execution/periods.py), on hand-worked tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from execution.periods import period_pnl, period_start


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("when", "period", "start", "label"),
    [
        ("2026-12-07T23:59:59.999", "day", "2026-12-07T00:00", "2026-12-07"),
        ("2026-12-07T00:00", "week", "2026-12-07T00:00", "2026-W50"),  # a Monday
        ("2026-12-06T23:59", "week", "2026-11-30T00:00", "2026-W49"),  # the Sunday before
        ("2027-01-01T12:00", "week", "2026-12-28T00:00", "2026-W53"),  # ISO year 2026
        ("2026-02-28T10:00", "month", "2026-02-01T00:00", "2026-02"),
    ],
)
def test_a_time_falls_in_one_utc_period(when: str, period: str, start: str, label: str) -> None:
    assert period_start(ms(when), period) == (ms(start), label)  # type: ignore[arg-type]


def test_periods_add_each_variants_fills_buys_realizing_nothing() -> None:
    fills = [
        ("A", ms("2026-12-06T10:00"), None),  # a BUY
        ("A", ms("2026-12-06T11:00"), Decimal("2.5")),
        ("B", ms("2026-12-06T12:00"), Decimal("-1")),
        ("A", ms("2026-12-07T00:00"), Decimal("-0.75")),
        ("A", ms("2026-12-07T09:00"), Decimal("0.25")),
    ]
    days = [(r.variant, r.label, r.realized_pnl, r.fills) for r in period_pnl(fills, "day")]
    assert days == [
        ("A", "2026-12-06", Decimal("2.5"), 2),
        ("B", "2026-12-06", Decimal("-1"), 1),
        ("A", "2026-12-07", Decimal("-0.5"), 2),
    ]
    weeks = [(r.variant, r.label, r.realized_pnl) for r in period_pnl(fills, "week")]
    assert weeks == [
        ("A", "2026-W49", Decimal("2.5")),
        ("B", "2026-W49", Decimal("-1")),
        ("A", "2026-W50", Decimal("-0.5")),
    ]
    months = [(r.variant, r.realized_pnl, r.fills) for r in period_pnl(fills, "month")]
    assert months == [("A", Decimal("2.0"), 4), ("B", Decimal("-1"), 1)]
    assert period_pnl([], "day") == []
