"""Ticks -> 1-minute candles per symbol, by the rules in `aggregation.rules`.

Per tick the work is a dict lookup, an integer division and a few Decimal operations on a
mutable bucket; a `Candle` object is built only when a minute closes.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from decimal import Decimal

from aggregation.models import Candle, CandleSource
from aggregation.rules import DEFAULT_GRACE_MS, DEFAULT_HISTORY, close_deadline_ms
from core.clock import MINUTE_MS
from data_ingestion.models import Tick

log = logging.getLogger(__name__)

# Decimal operators use the default context (28 significant digits): with Binance's 8-decimal
# strings a minute's quote volume stays exact below 10^12 (16 decimals). Context methods with a
# wider precision cost 4x per operation on the hot path, so a close checks the digits instead.
_EXACT_DIGITS = 28
_ZERO = Decimal(0)


class _Book:
    """One symbol: its open bucket, last close, history and flags."""

    __slots__ = (
        "backfilled",
        "close",
        "held",
        "high",
        "history",
        "incomplete",
        "last_close",
        "last_closed",
        "late_logged_minute",
        "late_trades",
        "low",
        "minute",
        "open",
        "quote",
        "symbol",
        "taker_base",
        "taker_quote",
        "trades",
        "volume",
    )

    def __init__(self, symbol: str, history: int) -> None:
        self.symbol = symbol
        self.minute: int | None = None  # the open minute
        self.open = self.high = self.low = self.close = _ZERO
        self.volume = self.quote = self.taker_base = self.taker_quote = _ZERO
        self.trades = 0
        self.last_closed: int | None = None  # last closed minute
        self.last_close: Decimal | None = None  # its close price
        self.history: deque[Candle] = deque(maxlen=history)
        self.held = 0
        self.late_trades = 0
        self.late_logged_minute: int | None = None
        self.incomplete: list[tuple[int, int]] = []  # minute ranges, inclusive
        self.backfilled: list[tuple[int, int]] = []


class CandleAggregator:
    """Builds each symbol's minute candles; `on_close` receives every closed candle in order."""

    def __init__(
        self,
        history: int = DEFAULT_HISTORY,
        grace_ms: int = DEFAULT_GRACE_MS,
        on_close: Callable[[Candle], None] | None = None,
    ) -> None:
        if history < 1 or grace_ms < 0:
            raise ValueError("history must be >= 1 and grace_ms >= 0")
        self.grace_ms = grace_ms
        self._history = history
        self._on_close = on_close
        self._books: dict[str, _Book] = {}
        self.late_trades = 0
        self.callback_errors = 0

    # -- symbols -------------------------------------------------------------------------

    def add_symbol(self, symbol: str) -> None:
        if symbol not in self._books:
            self._books[symbol] = _Book(symbol, self._history)

    def remove_symbol(self, symbol: str) -> None:
        self._books.pop(symbol, None)

    def symbols(self) -> list[str]:
        return list(self._books)

    # -- the hot path --------------------------------------------------------------------

    def add_tick(self, tick: Tick) -> None:
        """Add one trade; a trade of a later minute first closes the open one (and flat ones)."""
        b = self._books.get(tick.symbol)
        if b is None:
            b = self._books[tick.symbol] = _Book(tick.symbol, self._history)
        m = tick.trade_time_ms // MINUTE_MS
        if m == b.minute:
            p = tick.price
            q = tick.qty
            if p > b.high:
                b.high = p
            elif p < b.low:
                b.low = p
            b.close = p
            pq = p * q
            b.volume += q
            b.quote += pq
            b.trades += tick.count
            if not tick.is_buyer_maker:
                b.taker_base += q
                b.taker_quote += pq
            return
        self._new_minute(b, tick, m)

    def _new_minute(self, b: _Book, tick: Tick, m: int) -> None:
        late_open = b.minute is not None and m < b.minute
        if late_open or (b.last_closed is not None and m <= b.last_closed):
            b.late_trades += 1
            self.late_trades += 1
            if m != b.late_logged_minute:  # one line per late minute, not one per trade
                b.late_logged_minute = m
                log.warning(
                    "late trade %s #%d at %d for a closed minute: counted, not merged"
                    " (%d late so far; the late_trades metric counts every one)",
                    tick.symbol, tick.trade_id, tick.trade_time_ms, b.late_trades,
                )  # fmt: skip
            return
        if b.minute is not None:
            self._close_open(b)
        self._close_flat_until(b, m)
        p, q = tick.price, tick.qty
        pq = p * q
        b.minute = m
        b.open = b.high = b.low = b.close = p
        b.volume, b.quote, b.trades = q, pq, tick.count
        if tick.is_buyer_maker:
            b.taker_base = b.taker_quote = _ZERO
        else:
            b.taker_base, b.taker_quote = q, pq

    # -- closing -------------------------------------------------------------------------

    def close_due(self, now_ms: int) -> int:
        """Close every minute with end + grace <= now (flat ones too); held symbols wait."""
        closed = 0
        last_due = (now_ms - self.grace_ms) // MINUTE_MS - 1  # last minute whose deadline passed
        for b in list(self._books.values()):
            if b.held:
                continue
            if b.minute is not None and b.minute <= last_due:
                self._close_open(b)
                closed += 1
            if b.minute is None and b.last_closed is not None and b.last_closed < last_due:
                closed += self._close_flat_until(b, last_due + 1)
        return closed

    def next_deadline_ms(self) -> int | None:
        """When `close_due` next has something to close (None: no symbol can close)."""
        best: int | None = None
        for b in self._books.values():
            if b.held:
                continue
            last = b.minute if b.minute is not None else b.last_closed
            if last is None:
                continue
            minute = last if b.minute is not None else last + 1
            deadline = close_deadline_ms(minute, self.grace_ms)
            if best is None or deadline < best:
                best = deadline
        return best

    def _close_open(self, b: _Book) -> None:
        assert b.minute is not None
        m = b.minute
        complete, source = self._flags(b, m, CandleSource.STREAM)
        candle = Candle(
            b.symbol,
            m * MINUTE_MS,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.quote,
            b.trades,
            b.taker_base,
            b.taker_quote,
            complete,
            source,
        )
        if len(b.quote.as_tuple().digits) >= _EXACT_DIGITS:
            log.warning("%s %d: quote volume %s may be rounded", b.symbol, m, b.quote)
        b.minute = None
        b.last_closed = m
        b.last_close = b.close
        self._emit(b, candle)

    def _close_flat_until(self, b: _Book, end: int) -> int:
        """EMPTY MINUTES: flat candles for last_closed+1 .. end-1 (needs a previous close)."""
        if b.last_closed is None or b.last_close is None:
            return 0
        n = 0
        c = b.last_close
        for m in range(b.last_closed + 1, end):
            complete, source = self._flags(b, m, CandleSource.STREAM)
            candle = Candle(
                b.symbol, m * MINUTE_MS, c, c, c, c, _ZERO, _ZERO, 0, _ZERO, _ZERO, complete, source
            )  # fmt: skip
            b.last_closed = m
            self._emit(b, candle)
            n += 1
        return n

    def _flags(self, b: _Book, m: int, source: CandleSource) -> tuple[bool, CandleSource]:
        complete = True
        if b.incomplete:
            complete = not any(s <= m <= e for s, e in b.incomplete)
            b.incomplete = [(s, e) for s, e in b.incomplete if e > m]
        if b.backfilled:
            if any(s <= m <= e for s, e in b.backfilled):
                source = CandleSource.BACKFILL
            b.backfilled = [(s, e) for s, e in b.backfilled if e > m]
        return complete, source

    def _emit(self, b: _Book, candle: Candle) -> None:
        b.history.append(candle)
        if self._on_close is None:
            return
        try:
            self._on_close(candle)
        except Exception:  # a consumer's bug must not stop the market data
            self.callback_errors += 1
            log.exception("on_close failed for %s %d", candle.symbol, candle.open_time)

    # -- feed state ----------------------------------------------------------------------

    def hold(self, symbol: str) -> None:
        """HELD SYMBOLS: the clock closes nothing of `symbol` until `release`."""
        self.add_symbol(symbol)
        self._books[symbol].held += 1

    def release(self, symbol: str) -> None:
        b = self._books.get(symbol)
        if b is not None and b.held:
            b.held -= 1

    def is_held(self, symbol: str) -> bool:
        b = self._books.get(symbol)
        return b is not None and b.held > 0

    def mark_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None:
        """GAPS: the minutes of [start_ms, end_ms] had missing trades, now `filled` or not."""
        self.add_symbol(symbol)
        b = self._books[symbol]
        first, last = start_ms // MINUTE_MS, end_ms // MINUTE_MS
        if b.last_closed is not None and first <= b.last_closed:
            if last <= b.last_closed:
                log.warning("gap of %s in minutes already closed: %d..%d", symbol, first, last)
            first = b.last_closed + 1
        if first > last:
            return
        (b.backfilled if filled else b.incomplete).append((first, last))

    def resume_ms(self, symbol: str) -> int | None:
        """WARM-UP: the first instant whose trades the feed must still deliver (None: any)."""
        b = self._books.get(symbol)
        if b is None or b.last_closed is None:
            return None
        return (b.last_closed + 1) * MINUTE_MS

    def warm_up(self, symbol: str, candles: list[Candle]) -> int:
        """Seed history with closed klines (oldest first); returns how many were taken."""
        self.add_symbol(symbol)
        b = self._books[symbol]
        taken = 0
        for c in sorted(candles, key=lambda c: c.open_time):
            m = c.open_time // MINUTE_MS
            if c.symbol != symbol or (b.last_closed is not None and m <= b.last_closed):
                continue
            if b.minute is not None and m >= b.minute:
                break
            b.history.append(c)
            b.last_closed, b.last_close = m, c.close
            taken += 1
        return taken

    # -- reads ---------------------------------------------------------------------------

    def open_candle(self, symbol: str) -> Candle | None:
        b = self._books.get(symbol)
        if b is None or b.minute is None:
            return None
        return Candle(
            symbol, b.minute * MINUTE_MS, b.open, b.high, b.low, b.close, b.volume, b.quote,
            b.trades, b.taker_base, b.taker_quote,
            not any(s <= b.minute <= e for s, e in b.incomplete),
        )  # fmt: skip

    def history(
        self,
        symbol: str,
        limit: int | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> list[Candle]:
        """Closed candles, oldest first; `start`/`end` bound the open time (inclusive, ms)."""
        b = self._books.get(symbol)
        if b is None:
            return []
        out = [
            c
            for c in b.history
            if (start is None or c.open_time >= start) and (end is None or c.open_time <= end)
        ]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def late_trades_of(self, symbol: str) -> int:
        b = self._books.get(symbol)
        return 0 if b is None else b.late_trades
