"""Performance figures from filled orders: one implementation for the live service and the backtest.

Pure functions over the journal's filled `OrderRecord`s (the exchange's fills), so a figure
means the same in `GET /performance` and in the backtest report:

- a **round trip** starts with the first BUY fill while flat and ends with the SELL fill that
  closes the position (`closing`: a strategy exit, a stop, a manual close); partial SELLs in
  between add their P&L and fees to it. Its P&L is the sum of its SELLs' realized P&L (average
  cost, fees included: execution.positions), its fees every fill's commission in quote.
- a **win** is a round trip with P&L > 0; **win rate** = wins / round trips.
- **stops hit**: round trips ended by a stop-loss SELL.
- **average hold**: mean of (exit fill time − first entry fill time) over round trips.
- **exposure**: time holding (closed trips, plus the open one up to `end_ms`) / (end − start).
- **drawdown**: the largest fall of an equity curve from its running peak, relative to that
  peak, in percent; **return** = P&L / capital × 100.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from execution.models import OrderRecord
from strategy.models import Side, SignalReason

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
N = TypeVar("N", float, Decimal)
FeeQuote = Callable[[OrderRecord], Decimal]
Key = tuple[str, str]  # (variant, symbol)


def fee_in_quote(base_asset: Callable[[str], str | None]) -> FeeQuote:
    """A fill's commission valued in quote: a base-asset commission at the fill's price, a
    quote-asset one as it is; a third asset (BNB) cannot be valued here and counts 0."""

    def fee(rec: OrderRecord) -> Decimal:
        asset = rec.commission_asset
        if not rec.commission or asset is None:
            return _ZERO
        if asset == base_asset(rec.symbol):
            price = rec.avg_price
            if price is None and rec.executed_qty:
                price = rec.quote_qty / rec.executed_qty
            return rec.commission * (price or _ZERO)
        if rec.symbol.endswith(asset):
            return rec.commission
        return _ZERO

    return fee


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One closed position: first entry fill to closing exit fill, fees of every fill, net P&L."""

    entry_time: int
    entry_price: Decimal  # average BUY fill price
    exit_time: int
    exit_price: Decimal  # average SELL fill price
    exit_reason: str
    quantity: Decimal  # base sold
    fees: Decimal  # quote currency, every fill of the trip
    pnl: Decimal  # the SELLs' realized P&L (average cost, fees included)
    entry_order_id: str = ""
    exit_order_id: str = ""

    @property
    def hold_ms(self) -> int:
        return self.exit_time - self.entry_time

    @property
    def pnl_pct(self) -> Decimal:
        """P&L as a percentage of what the sold quantity cost at the average entry price."""
        cost = self.quantity * self.entry_price
        return self.pnl / cost * _HUNDRED if cost else _ZERO

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
class _Open:
    """A round trip in progress."""

    entry_time: int
    entry_order_id: str
    bought: Decimal = _ZERO
    bought_quote: Decimal = _ZERO
    sold: Decimal = _ZERO
    sold_quote: Decimal = _ZERO
    fees: Decimal = _ZERO
    pnl: Decimal = _ZERO


@dataclass(slots=True)
class Trips:
    """Round trips per (variant, symbol), and when each still-open trip started."""

    closed: dict[Key, list[RoundTrip]] = field(default_factory=dict)
    open_since: dict[Key, int] = field(default_factory=dict)


def _time(rec: OrderRecord) -> int:
    return rec.fill_time_ms or rec.time_ms


def round_trips(fills: Iterable[OrderRecord], fee_quote: FeeQuote) -> Trips:
    """Pair filled orders (in journal order) into round trips per (variant, symbol)."""
    out = Trips()
    progress: dict[Key, _Open] = {}
    for rec in fills:
        if not rec.filled or not rec.executed_qty:
            continue
        key = (rec.variant, rec.symbol)
        price = rec.avg_price if rec.avg_price is not None else rec.quote_qty / rec.executed_qty
        trip = progress.get(key)
        if rec.side is Side.BUY:
            if trip is None:
                trip = progress[key] = _Open(_time(rec), rec.client_order_id)
            trip.bought += rec.executed_qty
            trip.bought_quote += rec.executed_qty * price
            trip.fees += fee_quote(rec)
            continue
        if trip is None:
            continue  # a SELL of what a reset or an older journal held: no entry to pair
        trip.sold += rec.executed_qty
        trip.sold_quote += rec.executed_qty * price
        trip.fees += fee_quote(rec)
        trip.pnl += rec.realized_pnl or _ZERO
        if not rec.closing:
            continue
        del progress[key]
        out.closed.setdefault(key, []).append(
            RoundTrip(
                entry_time=trip.entry_time,
                entry_price=trip.bought_quote / trip.bought if trip.bought else price,
                exit_time=_time(rec),
                exit_price=trip.sold_quote / trip.sold,
                exit_reason=rec.reason.value,
                quantity=trip.sold,
                fees=trip.fees,
                pnl=trip.pnl,
                entry_order_id=trip.entry_order_id,
                exit_order_id=rec.client_order_id,
            )
        )
    out.open_since = {key: trip.entry_time for key, trip in progress.items()}
    return out


@dataclass(frozen=True, slots=True)
class TripStats:
    """What a list of round trips adds up to (money in quote, times in ms)."""

    round_trips: int
    wins: int
    win_rate: float  # 0..1
    pnl: Decimal
    fees: Decimal
    stops_hit: int
    avg_hold_ms: int | None
    held_ms: int  # time in a position, the open trip up to `end_ms` included
    exposure: float  # held_ms / (end_ms − start_ms), 0..1


def trip_stats(
    trips: Sequence[RoundTrip], start_ms: int, end_ms: int, open_since: Iterable[int] = ()
) -> TripStats:
    """Counts, P&L, fees and time in the market of `trips` over [start_ms, end_ms); positions
    still open since `open_since` count up to `end_ms`. Time held is the union of the
    holding intervals: trips of several symbols at once count once."""
    count = len(trips)
    wins = 0
    pnl = fees = _ZERO
    stops = 0
    hold_total = 0
    intervals: list[tuple[int, int]] = []
    for t in trips:
        if t.pnl > 0:
            wins += 1
        pnl += t.pnl
        fees += t.fees
        if t.exit_reason == SignalReason.STOP_LOSS.value:
            stops += 1
        hold_total += t.exit_time - t.entry_time
        intervals.append((t.entry_time, t.exit_time))
    intervals.extend((since, end_ms) for since in open_since if end_ms > since)
    held = _union_ms(intervals)
    span = end_ms - start_ms
    return TripStats(
        round_trips=count,
        wins=wins,
        win_rate=wins / count if count else 0.0,
        pnl=pnl,
        fees=fees,
        stops_hit=stops,
        avg_hold_ms=hold_total // count if count else None,
        held_ms=held,
        exposure=min(1.0, held / span) if span > 0 else 0.0,
    )


def _union_ms(intervals: list[tuple[int, int]]) -> int:
    """Total length of the union of [start, end) intervals (already sorted when disjoint)."""
    total = 0
    reach: int | None = None
    for start, end in sorted(intervals) if len(intervals) > 1 else intervals:
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def max_drawdown(curve: Iterable[N]) -> N | None:
    """Largest fall from a running peak as a fraction of that peak (0.25 = 25 %); None for an
    empty curve. Works on floats (the backtest's curve) and Decimals (the live one) alike."""
    peak: N | None = None
    worst: N | None = None
    for value in curve:
        if peak is None or value > peak:
            peak = value
            if worst is None:
                worst = value - value  # a zero of the curve's type
        elif peak > 0:
            fall = (peak - value) / peak
            if worst is None or fall > worst:
                worst = fall
    return worst


def return_pct(pnl: Decimal, capital: Decimal) -> Decimal:
    """P&L as a percentage of capital."""
    return pnl / capital * _HUNDRED if capital else _ZERO


class DrawdownMeter:
    """The running peak and largest drawdown of an equity series marked one value at a time
    (the live service's: it marks at fills and candle closes and keeps no full curve)."""

    __slots__ = ("max_drawdown", "peak")

    def __init__(self, start: Decimal) -> None:
        self.peak = start
        self.max_drawdown = _ZERO  # a fraction

    def mark(self, equity: Decimal) -> None:
        worst = max_drawdown((self.peak, equity))
        if equity > self.peak:
            self.peak = equity
        elif worst is not None and worst > self.max_drawdown:
            self.max_drawdown = worst
