"""Each variant's money: capital, cash, equity, return and drawdown. One definition, here.

- capital: the variant's starting quote (a setting); return and drawdown refer to it.
- cash = capital − quote spent on BUYs (fees included) + quote received for SELLs (net).
- mark price of a symbol: the price of its newest fill or closed 1-minute candle. Figures are
  marked at fills and candle closes, never at a read: polling changes nothing.
- equity = cash + everything held (dust included) at the mark price (at cost before any mark);
  per symbol: capital + that symbol's P&L (quote received − spent + held at the mark).
- return % = (equity − capital) / capital × 100.
- drawdown % = (peak equity − equity) / peak equity × 100, the peak starting at capital;
  `max_drawdown_pct` is the largest drawdown marked. After an exchange reset every variant
  starts again from its capital.
- all variants together (`total()`): capital = the variants' capitals, equity = their
  equities, return and drawdown of that sum (marked whenever one of them is).

The ledger holds every fill and closed candle in order, so replaying it at start (recovery)
gives back the same marks: the peak and the largest drawdown survive restarts. A long-only
variant cannot spend more than its cash (`can_spend`), so it cannot lose more than its capital.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from execution.models import OrderRecord, Position
from execution.numbers import pct_text, quote_text
from execution.positions import PositionBook

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
MAX_POINTS = 2000  # of each variant's equity curve; when full, every other point is dropped


@dataclass(frozen=True, slots=True)
class VariantMoney:
    """One variant's (or one of its symbols') money at its marks (quote currency or percent)."""

    variant: str
    capital: Decimal
    cash: Decimal
    holdings: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    return_pct: Decimal
    drawdown_pct: Decimal
    max_drawdown_pct: Decimal

    def shown(self) -> dict[str, str]:
        """The figures as every surface shows them (REST, /ws, the backtest report): quote
        to 8 places, percentages to 2, plain notation."""
        q, pct = quote_text, pct_text
        return {
            "capital": q(self.capital), "cash": q(self.cash), "holdings": q(self.holdings),
            "equity": q(self.equity), "realized_pnl": q(self.realized_pnl),
            "unrealized_pnl": q(self.unrealized_pnl),
            "pnl": q(self.realized_pnl + self.unrealized_pnl), "fees": q(self.fees),
            "return_pct": pct(self.return_pct), "drawdown_pct": pct(self.drawdown_pct),
            "max_drawdown_pct": pct(self.max_drawdown_pct),
        }  # fmt: skip


@dataclass(slots=True)
class Meter:
    """The running peak of an equity series and its largest drawdown (a fraction)."""

    peak: Decimal
    max_drawdown: Decimal = _ZERO

    def mark(self, equity: Decimal) -> Decimal:
        """Note `equity`; returns its drawdown from the peak (a fraction)."""
        if equity >= self.peak:
            self.peak = equity
            return _ZERO
        fall = (self.peak - equity) / self.peak if self.peak > 0 else _ZERO
        if fall > self.max_drawdown:
            self.max_drawdown = fall
        return fall


class Accounts:
    """Capital, marks and equity per variant over one PositionBook (changed only by fills)."""

    def __init__(
        self,
        variants: list[str],
        capital: Decimal,
        positions: PositionBook,
        max_points: int | None = MAX_POINTS,
    ) -> None:
        self.capital = capital
        self._variants = list(variants)
        self._positions = positions
        self._max_points = max_points
        self._marks: dict[str, Decimal] = {}  # symbol -> newest fill or close price
        self._meters: dict[tuple[str, str | None], Meter] = {}
        self._curves: dict[str, deque[tuple[int, Decimal]]] = {v: deque() for v in variants}
        self._total = Meter(capital * len(variants))  # every variant's equity added up
        # Each variant's equity at the current marks, kept as fills and closes mark it, and
        # their sum (the total's equity): a fill changes the filling variant's equity and
        # the symbol's other holders' by their held quantity × the price change, so nothing
        # is summed over every variant at a mark (an optimiser runs dozens at once).
        # None: to recompute (after a reset or a restore changed positions wholesale).
        self._now: dict[str, Decimal] | None = None
        self._sum = _ZERO
        # Told every curve point as it is marked (variant, time ms, equity): a point at the
        # time of the one before replaces it.
        self.on_point: Callable[[str, int, Decimal], None] | None = None

    @property
    def variants(self) -> list[str]:
        return list(self._variants)

    # -- cash --------------------------------------------------------------------------------

    def cash(self, variant: str) -> Decimal:
        spent, received = self._positions.flows(variant)
        return self.capital - spent + received

    def can_spend(self, variant: str, quote: Decimal) -> str | None:
        """Why `variant` cannot pay `quote` for an entry, or None."""
        cash = self.cash(variant)
        if quote > cash:
            return (
                f"capital: {variant} has {format(cash.quantize(Decimal('0.01')), 'f')} cash,"
                f" the order needs about {format(quote.quantize(Decimal('0.01')), 'f')}"
            )
        return None

    # -- marks -------------------------------------------------------------------------------

    def mark_price(self, symbol: str) -> Decimal | None:
        """The price figures are marked at: the newest fill or closed candle of `symbol`."""
        return self._marks.get(symbol)

    def on_fill(self, fill: OrderRecord) -> None:
        """A fill the position book has just applied: mark its variant at the fill's price."""
        if not fill.filled or not fill.executed_qty:
            return
        price = fill.avg_price or fill.quote_qty / fill.executed_qty
        before = self._marks.get(fill.symbol)
        self._marks[fill.symbol] = price
        if fill.variant in self._curves:
            # The other holders of the symbol are worth the new price too (in the total).
            others = []
            for v in self._positions.holders(fill.symbol):
                if v != fill.variant and v in self._curves:
                    pos = self._positions.get(v, fill.symbol)
                    others.append((v, pos.market_value(price) - pos.market_value(before)))
            self._mark(fill.fill_time_ms or fill.time_ms, [fill.variant], others)

    def on_close(self, symbol: str, close_time_ms: int, close: Decimal) -> None:
        """A closed 1-minute candle: mark every variant holding `symbol` at its close."""
        self._marks[symbol] = close
        held = self._positions.holders(symbol)
        if held:
            self._mark(close_time_ms + 1, [v for v in self._variants if v in held])

    def on_reset(self) -> None:
        """The exchange was wiped (positions ended): every variant starts again from capital."""
        self._meters.clear()
        self._now = None
        self._total = Meter(self.capital * len(self._variants))
        for curve in self._curves.values():
            curve.clear()

    def _mark(
        self,
        time_ms: int,
        variants: Iterable[str],
        revalued: Iterable[tuple[str, Decimal]] = (),
    ) -> None:
        """Mark `variants` (meters, curves) and the total; `revalued` are (variant, change)
        of variants whose equity changed with a new mark but which are not marked themselves."""
        now = self._now
        if now is None:  # every equity at the marks as they are now, the new one included
            now = self._now = {v: self._equity(v) for v in self._variants}
            total = sum(now.values(), _ZERO)
        else:
            total = self._sum
            for variant, change in revalued:
                now[variant] += change
                total += change
        for variant in variants:
            equity = self.capital
            for pos in self._positions.of_variant(variant):
                pnl = self._pnl(pos)
                equity += pnl
                self._meter(variant, pos.symbol).mark(self.capital + pnl)
            self._meter(variant, None).mark(equity)
            total += equity - now[variant]
            now[variant] = equity
            self._add_point(variant, time_ms, equity)
        self._sum = total
        self._total.mark(total)

    def _equity(self, variant: str) -> Decimal:
        return self.capital + sum(
            (self._pnl(p) for p in self._positions.of_variant(variant)), _ZERO
        )

    def _add_point(self, variant: str, time_ms: int, equity: Decimal) -> None:
        curve = self._curves[variant]
        if not curve or time_ms > curve[-1][0]:
            curve.append((time_ms, equity))
        elif time_ms == curve[-1][0]:
            curve[-1] = (time_ms, equity)
        else:
            # A candle that closed before the newest fill (its close came late): the fill's
            # point stands; the meters above have seen this equity anyway.
            return
        if self.on_point is not None:
            self.on_point(variant, time_ms, equity)
        if self._max_points is not None and len(curve) > self._max_points:
            kept = list(curve)[-1::-2][::-1]  # every other point, the newest kept
            curve.clear()
            curve.extend(kept)

    def _meter(self, variant: str, symbol: str | None) -> Meter:
        meter = self._meters.get((variant, symbol))
        if meter is None:
            meter = self._meters[(variant, symbol)] = Meter(self.capital)
        return meter

    def _pnl(self, pos: Position) -> Decimal:
        """Realized + unrealized: quote received − spent + everything held at the mark."""
        return pos.received_quote - pos.spent_quote + pos.market_value(self._marks.get(pos.symbol))

    # -- checkpoint -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Marks, meters and curves as plain JSON (the positions are the book's own)."""
        return {
            "marks": {s: str(p) for s, p in self._marks.items()},
            "meters": [
                [v, s, str(m.peak), str(m.max_drawdown)] for (v, s), m in self._meters.items()
            ],
            "curves": {v: [[t, str(e)] for t, e in c] for v, c in self._curves.items()},
            "total": [str(self._total.peak), str(self._total.max_drawdown)],
        }

    def restore(self, obj: dict[str, Any]) -> None:
        """The marks, meters and curves of a `snapshot` (a variant it does not know is left
        out; one it lacks starts from capital)."""
        self._marks = {s: Decimal(p) for s, p in obj["marks"].items()}
        self._now = None
        self._meters = {
            (v, s): Meter(Decimal(peak), Decimal(worst))
            for v, s, peak, worst in obj["meters"]
            if v in self._curves
        }
        for variant, curve in self._curves.items():
            curve.clear()
            curve.extend((int(t), Decimal(e)) for t, e in obj["curves"].get(variant, []))
        peak, worst = obj["total"]
        self._total = Meter(Decimal(peak), Decimal(worst))

    # -- reads (never marking) ---------------------------------------------------------------

    def symbols(self, variant: str) -> list[str]:
        """The symbols `variant` has a position record of (open or closed)."""
        return [p.symbol for p in self._positions.of_variant(variant)]

    def open_count(self, variant: str, symbol: str | None = None) -> int:
        """How many of `variant`'s positions are open (of `symbol` alone, if given)."""
        return sum(
            1
            for p in self._positions.of_variant(variant)
            if p.is_open and (symbol is None or p.symbol == symbol)
        )

    def money(self, variant: str, symbol: str | None = None) -> VariantMoney:
        """`variant`'s money at its marks; with `symbol`, that symbol's part alone (cash is
        then capital + that symbol's flows)."""
        positions = [
            p for p in self._positions.of_variant(variant) if symbol is None or p.symbol == symbol
        ]
        spent = sum((p.spent_quote for p in positions), _ZERO)
        received = sum((p.received_quote for p in positions), _ZERO)
        cash = self.cash(variant) if symbol is None else self.capital - spent + received
        holdings = realized = unrealized = fees = _ZERO
        for pos in positions:
            mark = self._marks.get(pos.symbol)
            holdings += pos.market_value(mark)
            realized += pos.realized_pnl
            unrealized += self._pnl(pos) - pos.realized_pnl
            fees += pos.fees_quote
        equity = cash + holdings
        meter = self._meters.get((variant, symbol)) or Meter(self.capital)
        peak = max(meter.peak, equity)
        drawdown = (peak - equity) / peak * _HUNDRED if peak > 0 else _ZERO
        return VariantMoney(
            variant, self.capital, cash, holdings, equity, realized, unrealized, fees,
            (equity - self.capital) / self.capital * _HUNDRED, drawdown,
            meter.max_drawdown * _HUNDRED,
        )  # fmt: skip

    def total(self) -> VariantMoney:
        """Every variant's money added up (variant "all"); return and drawdown of the sum."""
        parts = [self.money(v) for v in self._variants]
        capital = self.capital * len(parts)
        equity = sum((m.equity for m in parts), _ZERO)
        peak = max(self._total.peak, equity)
        return VariantMoney(
            "all", capital, sum((m.cash for m in parts), _ZERO),
            sum((m.holdings for m in parts), _ZERO), equity,
            sum((m.realized_pnl for m in parts), _ZERO),
            sum((m.unrealized_pnl for m in parts), _ZERO), sum((m.fees for m in parts), _ZERO),
            (equity - capital) / capital * _HUNDRED if capital else _ZERO,
            (peak - equity) / peak * _HUNDRED if peak > 0 else _ZERO,
            self._total.max_drawdown * _HUNDRED,
        )  # fmt: skip

    def curve(self, variant: str) -> list[tuple[int, Decimal]]:
        """(time ms, equity) marks of `variant`, oldest first (KeyError: unknown variant)."""
        return list(self._curves[variant])

    def first_mark_ms(self) -> int | None:
        """The time of the first mark (a fill or a closed candle) since the last reset: where
        the figures start. Kept in the trading state, so a restart does not move it."""
        firsts = [curve[0][0] for curve in self._curves.values() if curve]
        return min(firsts) if firsts else None
