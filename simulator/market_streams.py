"""Market streams other than trades: klines, depth, book ticker, tickers, average price.

Stream names follow web-socket-streams.md. Periodic streams push at Binance's update speed in
market time (kline 2000 ms, 1s kline 1000 ms, depth 1000/100 ms, tickers 1000 ms), and never
more often than a real-time floor, so a fast market clock does not flood clients: at
`--speed 600` a 1m kline still closes (x=true) once per market minute, every one of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from simulator.book import DepthFeed, OrderBook
from simulator.intervals import DAY_MS, HOUR_MS, INTERVALS, Interval, parse_time_zone
from simulator.klines import KlineBook
from simulator.money import fmt8
from simulator.state import MarketState
from simulator.tickers import (
    book_ticker_event,
    mini_event,
    ticker_event,
    window_event,
    window_stats,
)

_IV = "|".join(INTERVALS)
STREAM_NAME = re.compile(
    r"^(?:(?P<sym>[a-z0-9]+)@(?P<kind>trade|aggTrade|bookTicker|ticker|miniTicker|avgPrice"
    r"|ticker_(?:1h|4h|1d)"
    rf"|kline_(?:{_IV})(?:@[+-]?[0-9]{{1,2}}:[0-9]{{2}})?"
    r"|depth(?:5|10|20)?(?:@100ms|@1000ms)?)"
    r"|!miniTicker@arr(?:@1000ms)?|!ticker_(?:1h|4h|1d)@arr)$"
)
WINDOWS_MS = {"1h": HOUR_MS, "4h": 4 * HOUR_MS, "1d": DAY_MS}
REAL_FLOOR_S = 0.1  # no periodic stream pushes more often than this, in real seconds
TICKER_REAL_FLOOR_S = 0.5  # 24h statistics are costlier: at most twice a real second
MAX_CLOSED_PER_TICK = 600  # klines closed in one tick beyond this are skipped (a long pause)

Send = Callable[[str, object], None]


def valid_stream(name: str) -> bool:
    """A market stream name the simulator serves (symbol in lower case)."""
    match = STREAM_NAME.match(name)
    if match is None:
        return False
    kind = match.group("kind") or ""
    if kind.startswith("kline_") and "@" in kind:
        try:
            parse_time_zone(kind.split("@", 1)[1])
        except Exception:
            return False
    return True


@dataclass
class _Periodic:
    """When a periodic stream last pushed, in market and in real time."""

    every_ms: int
    floor_s: float
    next_ms: int = 0
    next_real: float = 0.0

    def due(self, now: int, real: float) -> bool:
        if now < self.next_ms or real < self.next_real:
            return False
        self.next_ms = now + self.every_ms
        self.next_real = real + min(self.floor_s, self.every_ms / 1000)
        return True


@dataclass
class _KlineState:
    interval: Interval
    periodic: _Periodic
    open_time: int | None = None


class MarketStreams:
    """Publishes the non-trade market streams that connections want, on each broadcaster tick."""

    def __init__(self, state: MarketState) -> None:
        self._state = state
        self._klines = {s: KlineBook(t) for s, t in state.tapes.items()}
        self._kline_states: dict[str, _KlineState] = {}
        self._feeds: dict[str, DepthFeed] = {}
        self._periodic: dict[str, _Periodic] = {}
        self._last_top: dict[str, int] = {}

    def tick(self, now: int, wanted: set[str], send: Send) -> None:
        """Push what is due for every wanted stream; forget the streams nobody wants."""
        real = time.monotonic()
        self._forget(wanted)
        for name in sorted(wanted):
            match = STREAM_NAME.match(name)
            if match is None:
                continue
            kind = match.group("kind")
            if kind is None:
                self._all_market(name, now, real, send)
                continue
            symbol = match.group("sym").upper()
            if symbol not in self._state.tapes or kind in ("trade", "aggTrade"):
                continue
            if kind.startswith("kline_"):
                self._kline(name, symbol, kind, now, real, send)
            elif kind.startswith("depth"):
                self._depth(name, symbol, kind, now, real, send)
            elif kind == "bookTicker":
                book = self._state.books[symbol]
                if self._last_top.get(name) != book.update_id:
                    self._last_top[name] = book.update_id
                    send(name, book_ticker_event(symbol, book))
            elif self._due(name, 1000, TICKER_REAL_FLOOR_S, now, real):
                send(name, self._ticker(symbol, kind, now))

    def _forget(self, wanted: set[str]) -> None:
        for name in [n for n in self._feeds if n not in wanted]:
            symbol = name.split("@", 1)[0].upper()
            self._state.books[symbol].drop(self._feeds.pop(name))
        for table in (self._kline_states, self._periodic, self._last_top):
            for name in [n for n in table if n not in wanted]:
                del table[name]

    def _due(self, name: str, every_ms: int, floor_s: float, now: int, real: float) -> bool:
        periodic = self._periodic.get(name)
        if periodic is None:
            periodic = self._periodic[name] = _Periodic(every_ms, floor_s)
        return periodic.due(now, real)

    def _kline(self, name: str, symbol: str, kind: str, now: int, real: float, send: Send) -> None:
        st = self._kline_states.get(name)
        if st is None:
            spec, _, zone = kind.removeprefix("kline_").partition("@")
            interval = Interval.parse(spec, parse_time_zone(zone) if zone else 0)
            st = self._kline_states[name] = _KlineState(
                interval, _Periodic(interval.push_ms, REAL_FLOOR_S)
            )
        klines, interval = self._klines[symbol], st.interval
        current = interval.open_of(now)
        if st.open_time is None:
            st.open_time = current
        closed = 0
        while st.open_time < current:
            if closed < MAX_CLOSED_PER_TICK:
                bar = klines.bar(interval, st.open_time)
                send(name, _kline_event(symbol, bar.stream_body(symbol, True), now))
            closed += 1
            st.open_time = interval.next_open(st.open_time)
        if st.periodic.due(now, real):
            body = klines.bar(interval, current).stream_body(symbol, False)
            send(name, _kline_event(symbol, body, now))

    def _depth(self, name: str, symbol: str, kind: str, now: int, real: float, send: Send) -> None:
        book: OrderBook = self._state.books[symbol]
        every = 100 if kind.endswith("@100ms") else 1000
        levels = kind.removeprefix("depth").split("@", 1)[0]
        if levels:  # partial book: the top levels, every push
            if self._due(name, every, REAL_FLOOR_S, now, real):
                bids, asks = book.top(int(levels))
                send(name, {"lastUpdateId": book.update_id, "bids": bids, "asks": asks})
            return
        feed = self._feeds.get(name)
        if feed is None:
            feed = self._feeds[name] = book.feed()
        if not self._due(name, every, REAL_FLOOR_S, now, real):
            return
        diff = book.drain(feed)
        if diff is not None:
            event = {
                "e": "depthUpdate",
                "E": now,
                "s": symbol,
                "U": diff.first_id,
                "u": diff.last_id,
                "b": diff.bids,
                "a": diff.asks,
            }
            send(name, event)

    def _ticker(self, symbol: str, kind: str, now: int) -> dict[str, object]:
        tape = self._state.tapes[symbol]
        if kind == "avgPrice":
            last = tape.trades[-1].time if tape.trades else now
            price = tape.avg_price(now)
            return {"e": "avgPrice", "E": now, "s": symbol, "i": "5m", "w": fmt8(price), "T": last}
        if kind.startswith("ticker_"):
            window = kind.removeprefix("ticker_")
            opened = now - WINDOWS_MS[window]
            bar = window_stats(tape, opened - opened % 60_000, now)
            return window_event(symbol, bar, window, now)
        bar = window_stats(tape, now - DAY_MS, now)
        if kind == "miniTicker":
            return mini_event(symbol, bar, now)
        return ticker_event(symbol, bar, tape, self._state.books[symbol], now)

    def _all_market(self, name: str, now: int, real: float, send: Send) -> None:
        if not self._due(name, 1000, TICKER_REAL_FLOOR_S, now, real):
            return
        kind = "miniTicker" if name.startswith("!miniTicker") else name[1:].split("@")[0]
        send(name, [self._ticker(symbol, kind, now) for symbol in self._state.tapes])


def _kline_event(symbol: str, body: dict[str, object], now: int) -> dict[str, object]:
    return {"e": "kline", "E": now, "s": symbol, "k": body}
