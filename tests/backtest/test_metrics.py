"""Report figures on small hand-checked cases."""

from __future__ import annotations

import itertools
import math
import random
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


def _curve_close_by_close(
    trades: list[RoundTrip], prices: PriceSeries, capital: float
) -> list[float]:
    """The curve's definition, one close at a time: trades exited at or before a close are
    realised in it; the next one is marked at the close if it was entered by then."""
    curve, realized, index = [], 0.0, 0
    for close_time, close in zip(prices.close_times, prices.closes, strict=True):
        while index < len(trades) and trades[index].exit_time <= close_time:
            realized += float(trades[index].pnl)
            index += 1
        equity = capital + realized
        if index < len(trades) and trades[index].entry_time <= close_time:
            t = trades[index]
            equity += float(t.quantity) * (close - float(t.entry_price)) - float(t.fees) / 2.0
        curve.append(equity)
    return curve


@pytest.mark.parametrize("seed", range(6))
def test_the_equity_curve_is_its_close_by_close_definition(seed: int) -> None:
    rng = random.Random(seed)
    closes = [round(100 + rng.uniform(-20, 20), 2) for _ in range(400)]
    prices = _series(closes)

    def at(minute: int) -> int:  # a time inside the minute, or its close time exactly
        return T0 + minute * 60_000 + rng.choice([0, 30_000, 59_999])

    trades, minute, t = [], -2, T0 - 120_000  # the first may open before the first close
    while minute < 420:
        minute += rng.randint(0, 20)
        entry = max(t, at(minute))
        minute += rng.randint(0, 30)
        exit_ = max(entry, at(minute))
        price, pnl = Decimal(str(closes[0])), Decimal(rng.randint(-500, 500)) / 100
        trades.append(
            RoundTrip(
                entry_time=entry, entry_price=price, exit_time=exit_, exit_price=price,
                exit_reason="signal", quantity=Decimal(rng.randint(1, 9)) / 10,
                fees=Decimal(rng.randint(0, 9)) / 100, pnl=pnl,
            )
        )  # fmt: skip
        t = exit_
    assert len(trades) > 10 and trades[-1].exit_time > prices.close_times[-1]  # open at the end
    assert equity_curve(trades, prices, 1000.0)[1] == _curve_close_by_close(trades, prices, 1000.0)


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
