"""Rolling-window statistics (24hr ticker, rolling ticker, mini ticker) and their wire shapes.

A window's statistics aggregate the released trades with time in [open, close]: the trades of
the partial first minute one by one, then the 1m candles (which hold every trade).
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import ROUND_HALF_UP, Decimal

from simulator.book import OrderBook
from simulator.intervals import MINUTE_MS
from simulator.klines import Bar, aggregate_candles, aggregate_trades
from simulator.market import Tape, Trade
from simulator.money import fmt8

_PERCENT = Decimal("0.001")


def window_stats(tape: Tape, open_ms: int, close_ms: int) -> Bar:
    """Statistics of the trades with open_ms <= time <= close_ms (close_ms: now)."""
    trades = tape.trades
    lo = bisect_left(trades, open_ms, key=_time)
    prev = trades[lo - 1].price if lo > 0 else (trades[0].price if trades else tape.last_price)
    bar = Bar("", open_ms, close_ms, prev, prev, prev, prev)
    boundary = open_ms + (-open_ms) % MINUTE_MS
    hi = bisect_left(trades, boundary, key=_time, lo=lo)
    aggregate_trades(bar, trades[lo:hi])
    candles = tape.candles
    if candles:
        start = max(0, (boundary - candles[0].open_time) // MINUTE_MS)
        aggregate_candles(bar, candles[start:])
    if bar.count == 0:
        bar.open = bar.high = bar.low = bar.close = tape.last_price
    return bar


def _last_trade(tape: Tape) -> Trade | None:
    return tape.trades[-1] if tape.trades else None


def _change(bar: Bar) -> tuple[str, str, str]:
    """(priceChange, priceChangePercent, weightedAvgPrice)."""
    change = bar.close - bar.open
    percent = (change / bar.open * 100).quantize(_PERCENT, ROUND_HALF_UP) if bar.open else 0
    weighted = bar.quote_volume / bar.volume if bar.volume else Decimal(0)
    return fmt8(change) if change >= 0 else "-" + fmt8(-change), str(percent), fmt8(weighted)


def mini(symbol: str, bar: Bar) -> dict[str, object]:
    """type=MINI of ticker/24hr and ticker."""
    return {
        "symbol": symbol,
        "openPrice": fmt8(bar.open),
        "highPrice": fmt8(bar.high),
        "lowPrice": fmt8(bar.low),
        "lastPrice": fmt8(bar.close),
        "volume": fmt8(bar.volume),
        "quoteVolume": fmt8(bar.quote_volume),
        "openTime": bar.open_time,
        "closeTime": bar.close_time,
        "firstId": bar.first_id,
        "lastId": bar.last_id,
        "count": bar.count,
    }


def rolling_full(symbol: str, bar: Bar) -> dict[str, object]:
    """type=FULL of GET /api/v3/ticker (rolling window)."""
    change, percent, weighted = _change(bar)
    body: dict[str, object] = {
        "symbol": symbol,
        "priceChange": change,
        "priceChangePercent": percent,
        "weightedAvgPrice": weighted,
    }
    body.update({k: v for k, v in mini(symbol, bar).items() if k != "symbol"})
    return body


def day_full(symbol: str, bar: Bar, tape: Tape, book: OrderBook) -> dict[str, object]:
    """type=FULL of GET /api/v3/ticker/24hr."""
    change, percent, weighted = _change(bar)
    last = _last_trade(tape)
    bid, bid_qty, ask, ask_qty = book.best()
    return {
        "symbol": symbol,
        "priceChange": change,
        "priceChangePercent": percent,
        "weightedAvgPrice": weighted,
        "prevClosePrice": fmt8(_prev_close(tape, bar)),
        "lastPrice": fmt8(bar.close),
        "lastQty": fmt8(last.qty if last is not None and bar.count else Decimal(0)),
        "bidPrice": fmt8(bid),
        "bidQty": fmt8(bid_qty),
        "askPrice": fmt8(ask),
        "askQty": fmt8(ask_qty),
        **{k: v for k, v in mini(symbol, bar).items() if k not in ("symbol", "lastPrice")},
    }


def _prev_close(tape: Tape, bar: Bar) -> Decimal:
    """The price of the trade just before the window (first trade id - 1)."""
    if bar.first_id < 0:
        return bar.close
    trades = tape.trades
    index = bar.first_id - 1 - tape.first_id()
    return trades[index].price if 0 <= index < len(trades) else bar.open


def ticker_event(symbol: str, bar: Bar, tape: Tape, book: OrderBook, now: int) -> dict[str, object]:
    """A `<symbol>@ticker` event (24hrTicker)."""
    full = day_full(symbol, bar, tape, book)
    return {
        "e": "24hrTicker",
        "E": now,
        "s": symbol,
        "p": full["priceChange"],
        "P": full["priceChangePercent"],
        "w": full["weightedAvgPrice"],
        "x": full["prevClosePrice"],
        "c": full["lastPrice"],
        "Q": full["lastQty"],
        "b": full["bidPrice"],
        "B": full["bidQty"],
        "a": full["askPrice"],
        "A": full["askQty"],
        "o": full["openPrice"],
        "h": full["highPrice"],
        "l": full["lowPrice"],
        "v": full["volume"],
        "q": full["quoteVolume"],
        "O": bar.open_time,
        "C": bar.close_time,
        "F": bar.first_id,
        "L": bar.last_id,
        "n": bar.count,
    }


def window_event(symbol: str, bar: Bar, window: str, now: int) -> dict[str, object]:
    """A `<symbol>@ticker_<window>` event (1hTicker, 4hTicker, 1dTicker)."""
    change, percent, weighted = _change(bar)
    return {
        "e": f"{window}Ticker",
        "E": now,
        "s": symbol,
        "p": change,
        "P": percent,
        "o": fmt8(bar.open),
        "h": fmt8(bar.high),
        "l": fmt8(bar.low),
        "c": fmt8(bar.close),
        "w": weighted,
        "v": fmt8(bar.volume),
        "q": fmt8(bar.quote_volume),
        "O": bar.open_time,
        "C": bar.close_time,
        "F": bar.first_id,
        "L": bar.last_id,
        "n": bar.count,
    }


def mini_event(symbol: str, bar: Bar, now: int) -> dict[str, object]:
    """A `<symbol>@miniTicker` event (24hrMiniTicker), also the items of `!miniTicker@arr`."""
    return {
        "e": "24hrMiniTicker",
        "E": now,
        "s": symbol,
        "c": fmt8(bar.close),
        "o": fmt8(bar.open),
        "h": fmt8(bar.high),
        "l": fmt8(bar.low),
        "v": fmt8(bar.volume),
        "q": fmt8(bar.quote_volume),
    }


def book_ticker(symbol: str, book: OrderBook) -> dict[str, object]:
    """A row of GET /api/v3/ticker/bookTicker."""
    bid, bid_qty, ask, ask_qty = book.best()
    return {
        "symbol": symbol,
        "bidPrice": fmt8(bid),
        "bidQty": fmt8(bid_qty),
        "askPrice": fmt8(ask),
        "askQty": fmt8(ask_qty),
    }


def book_ticker_event(symbol: str, book: OrderBook) -> dict[str, object]:
    """A `<symbol>@bookTicker` event."""
    bid, bid_qty, ask, ask_qty = book.best()
    return {
        "u": book.update_id,
        "s": symbol,
        "b": fmt8(bid),
        "B": fmt8(bid_qty),
        "a": fmt8(ask),
        "A": fmt8(ask_qty),
    }


def _time(trade: Trade) -> int:
    return trade.time
