"""Report figures for one (variant, symbol): trades, win rate, returns, drawdown, Sharpe, exposure.

Round trips, their counts, P&L, fees, stops, hold time and exposure, and the drawdown of a
curve come from execution.performance, the same code as the live `GET /performance`.

Money (P&L, fees) stays Decimal. Ratios are floats. Returns and drawdowns are relative to the
variant's capital (VARIANT_CAPITAL), as in the live service (execution.accounts): the equity
curve is that capital plus realised P&L plus the open position marked at each candle's close.
Sharpe uses the per-minute returns of that curve, annualised with sqrt(525600); Sortino the
same returns over their downside deviation (the root mean square of the negative ones).
Calmar is the annualised return over the max drawdown (None under a day or without a
drawdown), profit factor the gross profit of the round trips over their gross loss (None
without a losing trip), expectancy their mean P&L in quote.
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aggregation.models import Candle
from execution.accounts import VariantMoney
from execution.performance import RoundTrip, TripStats, trip_stats
from execution.performance import max_drawdown as _max_drawdown

__all__ = [
    "PriceSeries",
    "RoundTrip",
    "equity_curve",
    "max_drawdown",
    "sharpe",
    "sortino",
    "summarize",
    "variant_metrics",
]

MINUTES_PER_YEAR = 525_600


@dataclass(slots=True)
class PriceSeries:
    """Closes of one symbol's candles, in time order (floats: for charts and mark-to-market)."""

    close_times: array[int]
    closes: array[float]
    first_open_time: int

    @classmethod
    def of(cls, candles: list[Candle]) -> PriceSeries:
        """The closes of one symbol's candles (in time order)."""
        return cls(
            array("q", [c.open_time + 59_999 for c in candles]),
            array("d", [float(c.close) for c in candles]),
            candles[0].open_time if candles else 0,
        )


def equity_curve(
    trades: list[RoundTrip], prices: PriceSeries, capital: float
) -> tuple[float, list[float]]:
    """(capital, equity at each candle close): the variant's capital plus realised P&L plus
    the open position marked at each close (execution.accounts defines the live figures the
    same way). `trades` in exit order, one open at a time (a long-only position).

    Built a trade at a time: the closes before its entry hold the realised equity, the
    closes it is open for are marked in one pass over their slice, and it is realised at the
    first close at or after its exit (an optimiser builds one per trial over every close)."""
    if capital <= 0:
        raise ValueError("capital must be positive")
    times, closes = prices.close_times, prices.closes
    if len(times) != len(closes):
        raise ValueError("close times and closes differ in length")
    curve: list[float] = []
    realized = 0.0
    done = 0  # closes written
    for trade in trades:
        exit_at = bisect.bisect_left(times, trade.exit_time, done)  # first close it is realised
        entry_at = min(bisect.bisect_left(times, trade.entry_time, done), exit_at)
        equity = capital + realized
        curve.extend(itertools.repeat(equity, entry_at - done))
        if exit_at > entry_at:
            qty, entry = float(trade.quantity), float(trade.entry_price)
            entry_fee = float(trade.fees) / 2.0
            curve.extend(
                [equity + (qty * (c - entry) - entry_fee) for c in closes[entry_at:exit_at]]
            )
        realized += float(trade.pnl)
        done = exit_at
    curve.extend(itertools.repeat(capital + realized, len(closes) - done))
    return capital, curve


def summarize(
    trades: list[RoundTrip],
    prices: PriceSeries,
    capital: Decimal,
    money: VariantMoney | None = None,
) -> dict[str, Any]:
    """The summary block of the report for one (variant, symbol); return and drawdown are
    fractions of the variant's `capital` (VARIANT_CAPITAL). With `money` (the run's Accounts:
    the live service's one definition, marked at fills and candle closes), return and max
    drawdown are its figures; the float curve then serves the Sharpe ratio alone."""
    _, curve = equity_curve(trades, prices, float(capital))
    capital_f = float(capital)
    minutes = len(curve)
    span = (prices.close_times[-1] + 1 - prices.first_open_time) if minutes else 0
    stats = trip_stats(trades, prices.first_open_time, prices.first_open_time + span)
    final = capital_f + float(stats.pnl)
    total_return = final / capital_f - 1.0
    drawdown = max_drawdown(curve)
    if money is not None:
        total_return = float(money.return_pct) / 100.0
        drawdown = float(money.max_drawdown_pct) / 100.0
    annualised = annualise(total_return, minutes)
    return {
        "trades": stats.round_trips,
        "wins": stats.wins,
        "win_rate": stats.win_rate,
        "pnl": str(stats.pnl),
        "fees_paid": str(stats.fees),
        "stops_hit": stats.stops_hit,
        "avg_hold_s": None if stats.avg_hold_ms is None else stats.avg_hold_ms / 1000,
        "capital": str(capital),
        "total_return": total_return,
        "annualised_return": None if annualised is None else _finite(annualised),
        "max_drawdown": drawdown,
        "sharpe": sharpe(curve),
        "sortino": sortino(curve),
        "calmar": calmar(annualised, drawdown),
        "profit_factor": profit_factor(trades),
        "expectancy": str(expectancy(stats)),
        "exposure": stats.exposure,
        "minutes": minutes,
    }


def annualise(total_return: float, minutes: int) -> float | None:
    """The yearly rate that compounds to `total_return` over `minutes`; None under a day
    (an annualised figure of hours means nothing), -1 when everything was lost."""
    if minutes < 1440:
        return None
    if total_return <= -1.0:
        return -1.0
    return _finite((1.0 + total_return) ** (MINUTES_PER_YEAR / minutes) - 1.0)


def calmar(annualised: float | None, drawdown: float) -> float | None:
    """Annualised return over max drawdown (both fractions); None when either is missing."""
    if annualised is None or drawdown <= 0:
        return None
    return _finite(annualised / drawdown)


def profit_factor(trades: list[RoundTrip]) -> float | None:
    """Gross profit over gross loss of the round trips; None without a losing trip."""
    gain = sum((t.pnl for t in trades if t.pnl > 0), Decimal(0))
    loss = -sum((t.pnl for t in trades if t.pnl < 0), Decimal(0))
    return float(gain / loss) if loss > 0 else None


def expectancy(stats: TripStats) -> Decimal:
    """The mean P&L of a round trip, in quote (0 without trips)."""
    return stats.pnl / stats.round_trips if stats.round_trips else Decimal(0)


def max_drawdown(curve: list[float]) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0.25 = 25 %)."""
    return _max_drawdown(curve) or 0.0


def sharpe(curve: list[float]) -> float:
    """Mean over standard deviation of per-minute returns, times sqrt(525600); 0 if flat."""
    if len(curve) < 3:
        return 0.0
    returns = minute_returns(curve)
    n = len(returns)
    if n < 2:
        return 0.0
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    if var <= 1e-30:
        return 0.0
    return _finite(mean / math.sqrt(var) * math.sqrt(MINUTES_PER_YEAR))


def minute_returns(curve: list[float]) -> list[float]:
    """The return of each step of an equity curve (steps from a non-positive equity skipped)."""
    return [b / a - 1.0 for a, b in itertools.pairwise(curve) if a > 0]


def sortino(curve: list[float]) -> float:
    """Mean per-minute return over its downside deviation, times sqrt(525600); 0 if no
    minute lost."""
    returns = minute_returns(curve)
    n = len(returns)
    if n < 2:
        return 0.0
    downside = math.fsum(r * r for r in returns if r < 0) / n
    if downside <= 1e-30:
        return 0.0
    return _finite(math.fsum(returns) / n / math.sqrt(downside) * math.sqrt(MINUTES_PER_YEAR))


def combined_curve(
    curves: list[tuple[PriceSeries, list[float]]], capital: float, start: float
) -> list[float]:
    """Equity of several curves (each starting from `capital`: one variant's symbols, or every
    variant's) as one starting from `start`: at every close time of any of them, `start` plus
    each curve's gain at its newest point so far."""
    if len(curves) == 1 and start == capital:
        return list(curves[0][1])
    events = sorted(
        (t, n, value)
        for n, (prices, values) in enumerate(curves)
        for t, value in zip(prices.close_times, values, strict=True)
    )
    gains = [0.0] * len(curves)
    out: list[float] = []
    last_time: int | None = None
    for t, n, value in events:
        if last_time is not None and t != last_time:
            out.append(start + math.fsum(gains))
        gains[n] = value - capital
        last_time = t
    if last_time is not None:
        out.append(start + math.fsum(gains))
    return out


def variant_metrics(
    trades: list[RoundTrip], curve: list[float], money: VariantMoney, minutes: int
) -> dict[str, Any]:
    """The figures of one variant over all its symbols (or of every variant, "all"): what
    the backtest report prints per variant and the optimiser scores a trial by. Return, max
    drawdown and fees are the Accounts' figures (`money.shown()`); the ratios come from the
    per-minute `curve` over `minutes` and the round trips."""
    shown = money.shown()
    drawdown = float(money.max_drawdown_pct) / 100.0
    annualised = annualise(float(money.return_pct) / 100.0, minutes)
    stats = trip_stats(trades, 0, 0)  # counts and P&L (no span: exposure is not used here)
    return {
        "return_pct": shown["return_pct"],
        "max_drawdown_pct": shown["max_drawdown_pct"],
        "trades": stats.round_trips,
        "win_rate": stats.win_rate,
        "sharpe": sharpe(curve),
        "sortino": sortino(curve),
        "calmar": calmar(annualised, drawdown),
        "profit_factor": profit_factor(trades),
        "expectancy": str(expectancy(stats).quantize(Decimal("0.00000001"))),
        "fees": shown["fees"],
    }


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
