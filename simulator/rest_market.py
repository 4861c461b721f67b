"""Market-data endpoints of /api/v3: depth, klines, uiKlines, ticker/24hr, ticker, bookTicker."""

from __future__ import annotations

import json
from collections.abc import Mapping

from simulator import errors
from simulator.endpoint import Endpoint, Handler
from simulator.intervals import DAY_MS, MINUTE_MS, Interval, parse_time_zone, parse_window
from simulator.klines import KlineBook
from simulator.params import Params
from simulator.rest_public import PublicApi
from simulator.state import MarketState
from simulator.tickers import book_ticker, day_full, mini, rolling_full, window_stats

DEPTH_DEFAULT, DEPTH_MAX = 100, 5000


def depth_weight(query: Mapping[str, str]) -> int:
    """rest-api.md "Order book": 5 up to 100 levels, 25 to 500, 50 to 1000, 250 above."""
    text = query.get("limit", "")
    limit = int(text) if text.isdigit() else DEPTH_DEFAULT
    for most, weight in ((100, 5), (500, 25), (1000, 50)):
        if limit <= most:
            return weight
    return 250


def _count(query: Mapping[str, str]) -> int | None:
    """How many symbols a request names: 1 for `symbol`, n for `symbols`, None for all."""
    if query.get("symbol"):
        return 1
    many = query.get("symbols")
    if not many:
        return None
    try:
        names = json.loads(many)
    except ValueError:
        return 1
    return len(names) if isinstance(names, list) else 1


def day_ticker_weight(query: Mapping[str, str]) -> int:
    """ticker/24hr: 2 for 1-20 symbols, 40 for 21-100, 80 beyond or for all."""
    n = _count(query)
    if n is None or n > 100:
        return 80
    return 2 if n <= 20 else 40


def book_ticker_weight(query: Mapping[str, str]) -> int:
    """ticker/bookTicker: 2 for one symbol, else 4."""
    return 2 if query.get("symbol") else 4


def rolling_weight(query: Mapping[str, str]) -> int:
    """ticker: 4 per symbol, capped at 200 beyond 50 symbols."""
    return min(200, 4 * (_count(query) or 1))


class MarketDataApi:
    """Handlers of the order book, kline and ticker endpoints; each releases due trades first."""

    def __init__(self, state: MarketState) -> None:
        self._state = state
        self._klines = {s: KlineBook(t) for s, t in state.tapes.items()}

    def endpoints(self) -> list[Endpoint]:
        table: list[tuple[str, int, Handler, object]] = [
            ("depth", 5, self.depth, depth_weight),
            ("klines", 2, self.klines, None),
            ("uiKlines", 2, self.klines, None),
            ("ticker/24hr", 2, self.day_ticker, day_ticker_weight),
            ("ticker/bookTicker", 2, self.book_ticker, book_ticker_weight),
            ("ticker", 4, self.rolling_ticker, rolling_weight),
        ]
        return [
            Endpoint("GET", f"/api/v3/{path}", w, h, weigher=f)  # type: ignore[arg-type]
            for path, w, h, f in table
        ]

    async def depth(self, params: Params, api_key: str | None) -> object:
        tape = self._state.tape(params.get("symbol"))
        limit = params.limit(DEPTH_DEFAULT, DEPTH_MAX)
        self._state.advance()
        book = self._state.books[tape.spec.symbol]
        bids, asks = book.top(limit)
        return {"lastUpdateId": book.update_id, "bids": bids, "asks": asks}

    async def klines(self, params: Params, api_key: str | None) -> object:
        tape = self._state.tape(params.get("symbol"))
        zone = parse_time_zone(params.get("timeZone"))
        interval = Interval.parse(params.require("interval"), zone)
        limit = params.limit(500, 1000)
        start, end = params.int_("startTime"), params.int_("endTime")
        now = self._state.advance()
        rows = self._klines[tape.spec.symbol].select(interval, start, end, limit, now)
        return [bar.rest_row() for bar in rows]

    async def day_ticker(self, params: Params, api_key: str | None) -> object:
        kind = self._type(params)
        now = self._state.advance()
        names = PublicApi._symbols_param(params)
        tapes = [self._state.tape(n) for n in (names or list(self._state.tapes))]
        rows = []
        for tape in tapes:
            bar = window_stats(tape, now - DAY_MS, now)
            symbol = tape.spec.symbol
            book = self._state.books[symbol]
            rows.append(mini(symbol, bar) if kind == "MINI" else day_full(symbol, bar, tape, book))
        return rows[0] if params.has("symbol") else rows

    async def book_ticker(self, params: Params, api_key: str | None) -> object:
        self._state.advance()
        names = PublicApi._symbols_param(params)
        tapes = [self._state.tape(n) for n in (names or list(self._state.tapes))]
        rows = [book_ticker(t.spec.symbol, self._state.books[t.spec.symbol]) for t in tapes]
        return rows[0] if params.has("symbol") else rows

    async def rolling_ticker(self, params: Params, api_key: str | None) -> object:
        kind = self._type(params)
        window = parse_window(params.get("windowSize"))
        names = PublicApi._symbols_param(params)
        if names is None:
            raise errors.ApiError(
                400, -1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!"
            )
        now = self._state.advance()
        opened = now - window
        opened -= opened % MINUTE_MS
        rows = []
        for tape in [self._state.tape(n) for n in names]:
            bar = window_stats(tape, opened, now)
            symbol = tape.spec.symbol
            rows.append(mini(symbol, bar) if kind == "MINI" else rolling_full(symbol, bar))
        return rows[0] if params.has("symbol") else rows

    @staticmethod
    def _type(params: Params) -> str:
        kind = params.get("type") or "FULL"
        if kind not in ("FULL", "MINI"):
            raise errors.invalid("type")
        return kind
