"""Report figures for one (variant, symbol): trades, win rate, returns, drawdown, Sharpe, exposure.

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

MINUTES_PER_YEAR = 525_600
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One closed position: entry fill, exit fill, fees of both sides, net P&L."""

    entry_time: int
    entry_price: Decimal
    exit_time: int
    exit_price: Decimal
    exit_reason: str
    quantity: Decimal
    fees: Decimal  # quote currency, both sides
    pnl: Decimal  # (exit − entry) × quantity − fees
    entry_order_id: str = ""
    exit_order_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_time": self.entry_time,
            "entry_price": str(self.entry_price),
            "exit_time": self.exit_time,
            "exit_price": str(self.exit_price),
            "exit_reason": self.exit_reason,
            "quantity": str(self.quantity),
            "fees": str(self.fees),
            "pnl": str(self.pnl),
            "entry_order_id": self.entry_order_id,
            "exit_order_id": self.exit_order_id,
        }


@dataclass(slots=True)
class PriceSeries:
    """Closes of one symbol's candles, in time order (floats: for charts and mark-to-market)."""

    close_times: array[int]
    closes: array[float]
    first_open_time: int

    @classmethod
    def empty(cls) -> PriceSeries:
        return cls(array("q"), array("d"), 0)

    def add(self, open_time: int, close: float) -> None:
        if not self.close_times:
            self.first_open_time = open_time
        self.close_times.append(open_time + 59_999)
        self.closes.append(close)


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


def summarize(trades: list[RoundTrip], prices: PriceSeries, capital: Decimal) -> dict[str, Any]:
    """The summary block of the report for one (variant, symbol); return and drawdown are
    fractions of the variant's `capital` (VARIANT_CAPITAL)."""
    _, curve = equity_curve(trades, prices, float(capital))
    capital_f = float(capital)
    minutes = len(curve)
    wins = sum(1 for t in trades if t.pnl > 0)
    pnl = sum((t.pnl for t in trades), _ZERO)
    fees = sum((t.fees for t in trades), _ZERO)
    final = capital_f + float(pnl)
    total_return = final / capital_f - 1.0
    years = minutes / MINUTES_PER_YEAR
    if minutes < 1440:
        annualised: float | None = None  # under a day: an annualised figure means nothing
    elif final > 0:
        annualised = (final / capital_f) ** (1.0 / years) - 1.0
    else:
        annualised = -1.0 if final <= 0 else 0.0
    span = (prices.close_times[-1] + 1 - prices.first_open_time) if minutes else 0
    held = sum(t.exit_time - t.entry_time for t in trades)
    return {
        "trades": len(trades),
        "wins": wins,
        "win_rate": wins / len(trades) if trades else 0.0,
        "pnl": str(pnl),
        "fees_paid": str(fees),
        "capital": str(capital),
        "total_return": total_return,
        "annualised_return": None if annualised is None else _finite(annualised),
        "max_drawdown": max_drawdown(curve),
        "sharpe": sharpe(curve),
        "exposure": held / span if span > 0 else 0.0,
        "minutes": minutes,
    }


def max_drawdown(curve: list[float]) -> float:
    """Largest fall from a running peak, as a fraction of that peak (0.25 = 25 %)."""
    peak = -math.inf
    worst = 0.0
    for value in curve:
        if value > peak:
            peak = value
        elif peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst


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
