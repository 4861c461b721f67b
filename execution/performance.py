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

from collections import deque
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


class TripBook:
    """Round trips paired fill by fill, in ledger order (the one pairing: `round_trips` and the
    live service's running figures both use it). Holds only the trips still open."""

    def __init__(self, fee_quote: FeeQuote) -> None:
        self._fee = fee_quote
        self.progress: dict[Key, _Open] = {}

    def open_since(self) -> dict[Key, int]:
        """When each still-open trip started (its first entry fill)."""
        return {key: trip.entry_time for key, trip in self.progress.items()}

    def add(self, rec: OrderRecord) -> tuple[Key, RoundTrip] | None:
        """Take one fill; the round trip it closes, if it closes one."""
        if not rec.filled or not rec.executed_qty:
            return None
        key = (rec.variant, rec.symbol)
        price = rec.avg_price if rec.avg_price is not None else rec.quote_qty / rec.executed_qty
        trip = self.progress.get(key)
        if rec.side is Side.BUY:
            if trip is None:
                trip = self.progress[key] = _Open(_time(rec), rec.client_order_id)
            trip.bought += rec.executed_qty
            trip.bought_quote += rec.executed_qty * price
            trip.fees += self._fee(rec)
            return None
        if trip is None:
            return None  # a SELL of what a reset or an older journal held: no entry to pair
        trip.sold += rec.executed_qty
        trip.sold_quote += rec.executed_qty * price
        trip.fees += self._fee(rec)
        trip.pnl += rec.realized_pnl or _ZERO
        if not rec.closing:
            return None
        del self.progress[key]
        return key, RoundTrip(
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

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"variant": v, "symbol": s, "entry_time": t.entry_time,
             "entry_order_id": t.entry_order_id, "bought": str(t.bought),
             "bought_quote": str(t.bought_quote), "sold": str(t.sold),
             "sold_quote": str(t.sold_quote), "fees": str(t.fees), "pnl": str(t.pnl)}
            for (v, s), t in self.progress.items()
        ]  # fmt: skip

    def restore(self, rows: list[dict[str, Any]]) -> None:
        self.progress = {}
        for r in rows:
            self.progress[(r["variant"], r["symbol"])] = _Open(
                int(r["entry_time"]), str(r["entry_order_id"]), Decimal(r["bought"]),
                Decimal(r["bought_quote"]), Decimal(r["sold"]), Decimal(r["sold_quote"]),
                Decimal(r["fees"]), Decimal(r["pnl"]),
            )  # fmt: skip


def round_trips(fills: Iterable[OrderRecord], fee_quote: FeeQuote) -> Trips:
    """Pair filled orders (in journal order) into round trips per (variant, symbol)."""
    out = Trips()
    book = TripBook(fee_quote)
    for rec in fills:
        closed = book.add(rec)
        if closed is not None:
            out.closed.setdefault(closed[0], []).append(closed[1])
    out.open_since = book.open_since()
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


class TripTally:
    """The running form of `trip_stats`: round trips added one at a time as they close, the
    figures equal to `trip_stats` over all of them. Holding time is a union of intervals;
    those no later trip can overlap any more are folded into one sum (`settle`), so what is
    kept stays small however long the history."""

    def __init__(self) -> None:
        self.round_trips = self.wins = self.stops_hit = self.hold_total = 0
        self.pnl = self.fees = _ZERO
        self.settled_ms = 0  # held time of intervals that ended before the settle point
        self.spans: list[tuple[int, int]] = []  # the rest, merged and sorted

    def add(self, t: RoundTrip) -> None:
        self.round_trips += 1
        self.wins += t.pnl > 0
        self.pnl += t.pnl
        self.fees += t.fees
        self.stops_hit += t.exit_reason == SignalReason.STOP_LOSS.value
        self.hold_total += t.exit_time - t.entry_time
        self.spans = _merged([*self.spans, (t.entry_time, t.exit_time)])

    def settle(self, before_ms: int) -> None:
        """Fold the intervals that end by `before_ms` into the sum: the caller promises that
        no trip still to come (or still open) started before it."""
        keep = [s for s in self.spans if s[1] > before_ms]
        self.settled_ms += sum(e - s for s, e in self.spans if e <= before_ms)
        self.spans = keep

    def stats(self, start_ms: int, end_ms: int, open_since: Iterable[int] = ()) -> TripStats:
        """What `trip_stats` gives for every trip added (see there)."""
        opens = [(since, end_ms) for since in open_since if end_ms > since]
        held = self.settled_ms + _union_ms([*self.spans, *opens])
        count = self.round_trips
        span = end_ms - start_ms
        return TripStats(
            round_trips=count,
            wins=self.wins,
            win_rate=self.wins / count if count else 0.0,
            pnl=self.pnl,
            fees=self.fees,
            stops_hit=self.stops_hit,
            avg_hold_ms=self.hold_total // count if count else None,
            held_ms=held,
            exposure=min(1.0, held / span) if span > 0 else 0.0,
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "counts": [self.round_trips, self.wins, self.stops_hit, self.hold_total],
            "pnl": str(self.pnl), "fees": str(self.fees), "settled_ms": self.settled_ms,
            "spans": [list(s) for s in self.spans],
        }  # fmt: skip

    @classmethod
    def restored(cls, obj: dict[str, Any]) -> TripTally:
        out = cls()
        out.round_trips, out.wins, out.stops_hit, out.hold_total = (int(n) for n in obj["counts"])
        out.pnl, out.fees = Decimal(obj["pnl"]), Decimal(obj["fees"])
        out.settled_ms = int(obj["settled_ms"])
        out.spans = [(int(s), int(e)) for s, e in obj["spans"]]
        return out


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) intervals merged where they overlap or touch, sorted."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


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


class RecentIds:
    """The newest `size` ids seen, to drop a repeat (a record told twice) in bounded memory."""

    def __init__(self, size: int, ids: Iterable[str] = ()) -> None:
        self._order: deque[str] = deque(maxlen=size)
        self._set: set[str] = set()
        for i in ids:
            self.add(i)

    def __contains__(self, item: object) -> bool:
        return item in self._set

    def add(self, item: str) -> None:
        if item in self._set:
            return
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(item)
        self._set.add(item)

    def snapshot(self) -> list[str]:
        return list(self._order)


SETTLE_MARGIN_MS = 3_600_000  # fill times may arrive a little out of order


class TripFigures:
    """Round-trip figures since the last exchange reset, per (variant, symbol) and per
    variant, kept up to date fill by fill (`on_fill`), in memory that does not grow with
    history: the open trips, one `TripTally` per key and the newest fill ids."""

    def __init__(self, fee_quote: FeeQuote, recent: int = 10_000) -> None:
        self._fee = fee_quote
        self._recent = recent
        self.reset()

    def reset(self) -> None:
        self.book = TripBook(self._fee)
        self.tallies: dict[tuple[str, str | None], TripTally] = {}
        self.first_ms: int | None = None  # the first fill taken since the reset
        self.seen = RecentIds(self._recent)  # fills taken (none counted twice)

    def on_fill(self, fill: OrderRecord) -> bool:
        """Take one fill (False: not a fill, or one taken already)."""
        if not fill.executed_qty or not fill.filled or fill.client_order_id in self.seen:
            return False
        self.seen.add(fill.client_order_id)
        at = _time(fill)
        self.first_ms = at if self.first_ms is None else min(self.first_ms, at)
        closed = self.book.add(fill)
        if closed is not None:
            (variant, symbol), trip = closed
            opens = [t for (v, _), t in self.book.open_since().items() if v == variant]
            settle = min([*opens, at]) - SETTLE_MARGIN_MS
            for key in ((variant, symbol), (variant, None)):
                tally = self.tallies.setdefault(key, TripTally())
                tally.add(trip)
                tally.settle(settle)
        return True

    def tally(self, variant: str, symbol: str | None = None) -> TripTally:
        return self.tallies.get((variant, symbol)) or TripTally()

    def snapshot(self) -> dict[str, Any]:
        return {
            "open": self.book.snapshot(),
            "tallies": [[v, s, t.snapshot()] for (v, s), t in self.tallies.items()],
            "first_ms": self.first_ms,
            "seen": self.seen.snapshot(),
        }

    def restore(self, obj: dict[str, Any]) -> None:
        self.reset()
        self.book.restore(obj["open"])
        self.tallies = {(v, s): TripTally.restored(t) for v, s, t in obj["tallies"]}
        self.first_ms = obj["first_ms"]
        self.seen = RecentIds(self._recent, obj["seen"])
