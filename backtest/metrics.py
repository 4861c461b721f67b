"""Report figures for one (variant, symbol): trades, win rate, returns, drawdown, Sharpe, exposure.

Round trips, their counts, P&L, fees, stops, hold time and exposure, and the drawdown of a
curve come from execution.performance, the same code as the live `GET /performance`.

Money (P&L, fees) stays Decimal. Ratios are floats. Returns and drawdowns are relative to the
variant's capital (VARIANT_CAPITAL), as in the live service (execution.accounts): the equity
curve is that capital plus realised P&L plus the open position marked at each candle's close.
Sharpe uses the per-minute returns of that curve, annualised with sqrt(525600).
"""

from __future__ import annotations

import itertools
import math
from array import array
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aggregation.models import Candle
from execution.accounts import VariantMoney
from execution.performance import RoundTrip, trip_stats
from execution.performance import max_drawdown as _max_drawdown

__all__ = ["PriceSeries", "RoundTrip", "equity_curve", "max_drawdown", "sharpe", "summarize"]

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
    same way)."""
    if capital <= 0:
        raise ValueError("capital must be positive")
    curve: list[float] = []
    realized = 0.0
    index = 0
    count = len(trades)
    for close_time, close in zip(prices.close_times, prices.closes, strict=True):
        while index < count and trades[index].exit_time <= close_time:
            realized += float(trades[index].pnl)
            index += 1
        equity = capital + realized
        if index < count and trades[index].entry_time <= close_time:
            trade = trades[index]
            entry_fee = float(trade.fees) / 2.0
            equity += float(trade.quantity) * (close - float(trade.entry_price)) - entry_fee
        curve.append(equity)
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
        final = capital_f * (1.0 + total_return)
        drawdown = float(money.max_drawdown_pct) / 100.0
    years = minutes / MINUTES_PER_YEAR
    if minutes < 1440:
        annualised: float | None = None  # under a day: an annualised figure means nothing
    elif final > 0:
        annualised = (final / capital_f) ** (1.0 / years) - 1.0
    else:
        annualised = -1.0 if final <= 0 else 0.0
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
        "exposure": stats.exposure,
        "minutes": minutes,
    }


def max_drawdown(curve: list[float]) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0.25 = 25 %)."""
    return _max_drawdown(curve) or 0.0


def sharpe(curve: list[float]) -> float:
    """Mean over standard deviation of per-minute returns, times sqrt(525600); 0 if flat."""
    if len(curve) < 3:
        return 0.0
    returns = [b / a - 1.0 for a, b in itertools.pairwise(curve) if a > 0]
    n = len(returns)
    if n < 2:
        return 0.0
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    if var <= 1e-30:
        return 0.0
    return _finite(mean / math.sqrt(var) * math.sqrt(MINUTES_PER_YEAR))


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
