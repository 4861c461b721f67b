"""A synthetic order book per symbol that follows the tape, one update per trade.

The book has a one-tick spread and `LEVELS` price levels a side: the best level, then levels on
a grid of `GRID_BPS` of the start price (whole ticks), so one trade's move shifts a level or
two, not the whole book. Each
released trade is one book update whose id is the trade id, so `lastUpdateId` of a snapshot
names the last trade the book has seen. A taker buy at price p leaves the ask at p (and the bid
one tick below), a taker sell at p leaves the bid at p: the last trade price is always the best
bid or the best ask, and market orders (filled at the last price) fill inside the spread.
Quantities are seeded: a level's resting size depends on its price; the level a trade hit and
one level near the top are redrawn on every update, so the top of the book moves.

Consumers of diff depth (`@depth`, `@depth@100ms`) each hold a `DepthFeed` that collects the
changed levels between two pushes, with the first update id of the batch (`U`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.config import SymbolSpec, typical_notional
from simulator.market import FIRST_TRADE_ID, Trade
from simulator.money import fmt8

LEVELS = 1000  # price levels a side (GET /api/v3/depth serves up to this many)
GRID_BPS = 0.5e-4  # spacing of the levels behind the best one, relative to the start price
REPLAYED = 1  # trades of one released batch whose book updates are worked out one by one
TOP_JITTER = 20  # one level among the top TOP_JITTER of a side is redrawn per update
BID, ASK = "b", "a"


def _mix(x: int) -> float:
    """A deterministic pseudo-random number in [0, 1) for the integer `x`."""
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    return ((x ^ (x >> 16)) & 0xFFFFFFFF) / 2**32


@dataclass(eq=False)
class DepthFeed:
    """The levels changed since the last push of one diff-depth stream."""

    first_id: int
    changes: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DepthDiff:
    first_id: int
    last_id: int
    bids: list[list[str]]
    asks: list[list[str]]


class OrderBook:
    """One symbol's book: ticks -> size in lot steps, on both sides."""

    def __init__(self, spec: SymbolSpec, seed: int, last: Trade | None) -> None:
        self.spec = spec
        self._rng = random.Random(f"{seed}:book:{spec.symbol}")
        self._salt = random.Random(f"{seed}:book-salt:{spec.symbol}").getrandbits(31)
        # size in steps of a level at x ticks: _size_k * (a seeded factor in [0.2, 3.2)) / x
        tick, step = float(spec.tick_size), float(spec.step_size)
        self._size_k = float(typical_notional(spec)) * 2 / tick / step
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.update_id = FIRST_TRADE_ID - 1
        self._feeds: list[DepthFeed] = []
        self._grid = max(1, round(float(spec.start_price) * GRID_BPS / float(spec.tick_size)))
        start = last.price if last is not None else spec.start_price
        taker_buy = last is not None and not last.is_buyer_maker
        self.best_bid = self._ticks(start) - (1 if taker_buy else 0)
        for x in self._bid_prices(self.best_bid):
            self.bids[x] = self._base(x)
        for x in self._ask_prices(self.best_bid):
            self.asks[x] = self._base(x)
        if last is not None:
            self.update_id = last.id

    # -- layout: which prices a side holds when the best bid is at `b` ticks ---------------

    def _bid_grid(self, b: int) -> tuple[int, int]:
        """Grid indices (inclusive) of the bids behind the best bid `b`."""
        hi = (b - 1) // self._grid
        return hi - (LEVELS - 2), hi

    def _ask_grid(self, b: int) -> tuple[int, int]:
        """Grid indices (inclusive) of the asks behind the best ask `b + 1`."""
        lo = -(-(b + 2) // self._grid)
        return lo, lo + LEVELS - 2

    def _bid_prices(self, b: int) -> list[int]:
        """Bid prices in ticks, best first."""
        lo, hi = self._bid_grid(b)
        return [b, *(i * self._grid for i in range(hi, lo - 1, -1))]

    def _ask_prices(self, b: int) -> list[int]:
        """Ask prices in ticks, best first."""
        lo, hi = self._ask_grid(b)
        return [b + 1, *(i * self._grid for i in range(lo, hi + 1))]

    # -- reading ---------------------------------------------------------------------------

    def price(self, ticks: int) -> str:
        return fmt8(Decimal(ticks) * self.spec.tick_size)

    def qty(self, steps: int) -> str:
        return fmt8(Decimal(steps) * self.spec.step_size)

    def top(self, limit: int) -> tuple[list[list[str]], list[list[str]]]:
        """The best `limit` bids (high to low) and asks (low to high), as wire strings."""
        b = self.best_bid
        bids = [[self.price(x), self.qty(self.bids[x])] for x in self._bid_prices(b)[:limit]]
        asks = [[self.price(x), self.qty(self.asks[x])] for x in self._ask_prices(b)[:limit]]
        return bids, asks

    def best(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(bid price, bid qty, ask price, ask qty)."""
        tick, step = self.spec.tick_size, self.spec.step_size
        b, a = self.best_bid, self.best_bid + 1
        return (
            Decimal(b) * tick,
            Decimal(self.bids[b]) * step,
            Decimal(a) * tick,
            Decimal(self.asks[a]) * step,
        )

    # -- diff feeds ------------------------------------------------------------------------

    def feed(self) -> DepthFeed:
        """A new diff feed; its first batch starts after the current update id."""
        feed = DepthFeed(self.update_id + 1)
        self._feeds.append(feed)
        return feed

    def drop(self, feed: DepthFeed) -> None:
        """Stop collecting changes for `feed` (nobody listens to its stream any more)."""
        if feed in self._feeds:
            self._feeds.remove(feed)

    def drain(self, feed: DepthFeed) -> DepthDiff | None:
        """The levels changed since the last drain (None if nothing changed)."""
        if not feed.changes:
            return None
        bids = sorted(((x, q) for (s, x), q in feed.changes.items() if s == BID), reverse=True)
        asks = sorted((x, q) for (s, x), q in feed.changes.items() if s == ASK)
        diff = DepthDiff(
            feed.first_id,
            self.update_id,
            [[self.price(x), self.qty(q)] for x, q in bids],
            [[self.price(x), self.qty(q)] for x, q in asks],
        )
        feed.first_id = self.update_id + 1
        feed.changes = {}
        return diff

    # -- updating --------------------------------------------------------------------------

    def apply(self, trades: list[Trade]) -> None:
        """One update per trade: the book moves to the trade and its top is redrawn.

        Of a batch, only the last `REPLAYED` trades are worked out level by level: the net
        change of the others is the same move, so a feed's diff (U..u) stays exact while the
        cost per batch stays bounded at a fast market clock.
        """
        if trades:
            self.update_id = trades[-1].id
        for trade in trades[-REPLAYED:]:
            changes: dict[tuple[str, int], int] = {}
            p = self._ticks(trade.price)
            self._move_to(p - 1 if not trade.is_buyer_maker else p, changes)
            side = ASK if not trade.is_buyer_maker else BID
            self._set(side, p, self._rng.uniform(0.05, 0.9), changes)
            side = BID if self._rng.random() < 0.5 else ASK
            depth = self._rng.randrange(1, TOP_JITTER)
            if side == BID:
                x = (self._bid_grid(self.best_bid)[1] - depth + 1) * self._grid
            else:
                x = (self._ask_grid(self.best_bid)[0] + depth - 1) * self._grid
            self._set(side, x, self._rng.uniform(0.3, 2.0), changes)
            for feed in self._feeds:
                feed.changes.update(changes)

    def _set(self, side: str, x: int, scale: float, changes: dict[tuple[str, int], int]) -> None:
        """Redraw the level at `x` ticks to `scale` times its resting size."""
        book = self.bids if side == BID else self.asks
        steps = max(1, int(self._base(x) * scale))
        if book.get(x) == steps:
            steps += 1  # an update always changes its level
        book[x] = steps
        changes[(side, x)] = steps

    def _move_to(self, new_bid: int, changes: dict[tuple[str, int], int]) -> None:
        """Shift the book so that its best bid is `new_bid` (and its best ask one tick up)."""
        old = self.best_bid
        if new_bid == old:
            return
        g = self._grid
        sides = (
            (BID, self.bids, old, new_bid, self._bid_grid(old), self._bid_grid(new_bid)),
            (ASK, self.asks, old + 1, new_bid + 1, self._ask_grid(old), self._ask_grid(new_bid)),
        )
        for side, book, top, new_top, was, now in sides:
            gone = [i * g for lo, hi in _minus(was, now) for i in range(lo, hi + 1)]
            if not (top % g == 0 and now[0] <= top // g <= now[1]):
                gone.append(top)
            for x in gone:
                if x != new_top and book.pop(x, None) is not None:
                    changes[(side, x)] = 0
            came = [i * g for lo, hi in _minus(now, was) for i in range(lo, hi + 1)]
            for x in [*came, new_top]:
                if x not in book:
                    book[x] = changes[(side, x)] = self._base(x)
        self.best_bid = new_bid

    def _ticks(self, price: Decimal) -> int:
        return int(price / self.spec.tick_size)

    def _base(self, x: int) -> int:
        """The resting size (in lot steps) of the level at `x` ticks when nothing hit it."""
        return max(1, int(self._size_k * (0.2 + 3.0 * _mix(x ^ self._salt)) / max(x, 1)))


def _minus(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """The parts of the integer range `a` (inclusive) outside the range `b`."""
    parts = []
    if a[0] < b[0]:
        parts.append((a[0], min(a[1], b[0] - 1)))
    if a[1] > b[1]:
        parts.append((max(a[0], b[1] + 1), a[1]))
    return parts
