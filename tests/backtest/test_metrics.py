"""Report figures on small hand-checked cases."""

from __future__ import annotations

import itertools
import math
from array import array
from decimal import Decimal

import pytest

from backtest.metrics import PriceSeries, RoundTrip, equity_curve, max_drawdown, sharpe, summarize

T0 = 1_700_000_040_000  # a minute boundary


def _series(closes: list[float]) -> PriceSeries:
    times = array("q", [T0 + i * 60_000 + 59_999 for i in range(len(closes))])
    return PriceSeries(times, array("d", closes), T0)


def _trip(entry_i: int, entry: str, exit_i: int, exit_: str, pnl: str, fees: str) -> RoundTrip:
    return RoundTrip(
        entry_time=T0 + entry_i * 60_000 + 59_999,
        entry_price=Decimal(entry),
        exit_time=T0 + exit_i * 60_000 + 59_999,
        exit_price=Decimal(exit_),
        exit_reason="signal",
        quantity=Decimal(1),
        fees=Decimal(fees),
        pnl=Decimal(pnl),
    )


def test_equity_curve_marks_open_position_and_books_exits() -> None:
    prices = _series([100, 110, 90, 120, 120])
    trips = [_trip(1, "110", 3, "120", "9", "1")]
    capital, curve = equity_curve(trips, prices, 110.0)
    assert capital == 110.0
    # before entry: capital; open at 1 (minus entry fee 0.5); 90-110; exit booked at 3
    assert curve == [110.0, 109.5, 89.5, 119.0, 119.0]


def test_summary_figures() -> None:
    prices = _series([100, 110, 90, 120, 120, 100, 80])
    trips = [
        _trip(1, "110", 3, "120", "9", "1"),
        _trip(4, "120", 6, "80", "-41", "1"),
    ]
    s = summarize(trips, prices, Decimal(110))
    assert s["trades"] == 2 and s["wins"] == 1 and s["win_rate"] == 0.5
    assert s["pnl"] == "-32" and s["fees_paid"] == "2"
    assert s["total_return"] == pytest.approx(-32 / 110)
    assert s["exposure"] == pytest.approx(4 / 7)
    # peak 119 (after the first exit), trough 119 - 40 - 1 = 78
    assert s["max_drawdown"] == pytest.approx((119 - 78) / 119)
    assert s["annualised_return"] is None  # under a day: not annualised


def test_sharpe_matches_definition() -> None:
    curve = [100.0, 101.0, 100.5, 102.0, 101.0]
    rets = [b / a - 1 for a, b in itertools.pairwise(curve)]
    mean = sum(rets) / len(rets)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1))
    assert sharpe(curve) == pytest.approx(mean / sd * math.sqrt(525_600))
    assert sharpe([1.0, 1.0, 1.0, 1.0]) == 0.0
    assert max_drawdown([1.0, 2.0, 1.0, 3.0, 2.4]) == pytest.approx(0.5)


def test_no_trades_is_flat() -> None:
    s = summarize([], _series([1, 2, 3]), Decimal(1000))
    assert s["trades"] == 0 and s["total_return"] == 0 and s["sharpe"] == 0


def test_returns_and_drawdown_are_fractions_of_the_variants_capital() -> None:
    """A long-only variant losing on every round trip loses a share of its capital, never
    more than all of it (the old report divided by the first entry's notional: -674 %)."""
    prices = _series([100, 50, 100, 50, 100, 50])
    trips = [_trip(0, "100", 1, "50", "-50", "0"), _trip(2, "100", 3, "50", "-50", "0")]
    s = summarize(trips, prices, Decimal(1000))
    assert s["capital"] == "1000"
    assert s["total_return"] == pytest.approx(-100 / 1000)
    assert s["max_drawdown"] == pytest.approx(100 / 1000)
    assert s["total_return"] >= -1.0 and s["max_drawdown"] <= 1.0
