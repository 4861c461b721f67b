"""The timeframe book: higher-interval candles kept per (symbol, interval), fed minute by minute.

On the recorded testnet 1m klines: whenever an interval is first asked for (from the start,
midway, or only at the end), the book's candles are the same and equal an independent rollup
of Binance's klines (tests/aggregation/test_timeframes.py's oracle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aggregation.models import Candle
from aggregation.timeframe_book import HIGHER, TimeframeBook
from aggregation.timeframes import interval_ms, roll_up_with_open
from aggregation.warmup import kline_to_candle
from tests.aggregation.test_timeframes import DATA, binance_rollup, fields


class Minutes:
    """The aggregator's side: closed minutes so far (what `history(symbol)` returns)."""

    def __init__(self) -> None:
        self.closed: list[Candle] = []

    def __call__(self, symbol: str) -> list[Candle]:
        return [c for c in self.closed if c.symbol == symbol]


@pytest.fixture(scope="module")
def rows(binance_data: Path) -> list[list[Any]]:
    data: list[list[Any]] = json.loads((binance_data / DATA / "klines_1m.json").read_text())
    return data[:-1]  # the last row is the still-open minute


def run(rows: list[list[Any]], keep_at: int | None) -> tuple[TimeframeBook, list[Candle]]:
    """Feed every minute as the pipeline does (history first, then `add`); every interval is
    asked for before minute `keep_at` (None: never while feeding)."""
    minutes = Minutes()
    book = TimeframeBook(minutes, minutes_kept=len(rows))
    published: list[Candle] = []
    for i, row in enumerate(rows):
        if i == keep_at:
            book.keep(HIGHER)
        candle = kline_to_candle("BTCUSDT", row)
        minutes.closed.append(candle)
        published.extend(book.add(candle))
    return book, published


@pytest.mark.parametrize("keep_at", [0, 137, None])
def test_the_books_candles_equal_binances_whenever_first_asked_for(
    rows: list[list[Any]], keep_at: int | None
) -> None:
    book, published = run(rows, keep_at)
    for name in HIGHER:
        length = interval_ms(name)
        want = binance_rollup(rows, length)
        got = book.history("BTCUSDT", name)
        assert got, name
        assert [c.open_time for c in got] == sorted({c.open_time for c in got})
        for c in got:
            if c.open_time in want:
                assert c.complete and fields(c) == want[c.open_time], (name, c.open_time)
            else:
                assert not c.complete and c is got[0], name  # cut by the data's start
        if keep_at is None:
            continue
        # What `add` handed out (to /ws) are the very objects the history keeps (for REST).
        handed = [c for c in published if c.interval_ms == length]
        assert handed or length >= interval_ms("4h"), name  # ~8 h of data after minute 137
        assert all(any(c is h for h in got) for c in handed)
        assert all(c.open_time >= rows[keep_at][0] - length for c in handed)


def test_same_candles_whether_kept_from_the_start_or_midway(rows: list[list[Any]]) -> None:
    books = [run(rows, keep_at)[0] for keep_at in (0, 137, None)]
    for name in HIGHER:
        seen = [
            [[*fields(c), c.open_time, c.complete] for c in book.history("BTCUSDT", name)]
            for book in books
        ]
        assert seen[0] and seen[0] == seen[1] == seen[2], name


def test_nothing_is_rolled_up_until_asked(rows: list[list[Any]]) -> None:
    book, published = run(rows[:30], None)
    assert not book.kept and published == []
    book.keep(["1m", "15m", "5m"])
    assert book.kept == ("5m", "15m")  # INTERVALS order; 1m is the aggregator's


def test_bounds_limit_and_the_open_candle(rows: list[list[Any]]) -> None:
    book, _ = run(rows, 0)
    five = book.history("BTCUSDT", "5m")
    assert book.history("BTCUSDT", "5m", limit=3) == five[-3:]
    assert (
        book.history("BTCUSDT", "5m", start=five[2].open_time, end=five[4].open_time) == (five[2:5])
    )
    assert book.history("BTCUSDT", "5m", limit=0) == []
    # The open candle: the closed minutes of the current interval plus the open minute.
    minutes = [kline_to_candle("BTCUSDT", r) for r in rows]
    *_, open_minute = [kline_to_candle("BTCUSDT", r) for r in rows[-1:]]
    _, want = roll_up_with_open(minutes[:-1], "15m", open_minute)
    book2, _ = run(rows[:-1], 0)
    got = book2.open_candle("BTCUSDT", "15m", open_minute)
    assert got is not None and want is not None
    assert (got.open_time, fields(got), got.complete) == (
        want.open_time,
        fields(want),
        want.complete,
    )


def test_history_is_bounded_by_the_minutes_kept(rows: list[list[Any]]) -> None:
    minutes = Minutes()
    book = TimeframeBook(minutes, minutes_kept=60)
    book.keep(["5m"])
    for row in rows:
        candle = kline_to_candle("BTCUSDT", row)
        minutes.closed.append(candle)
        book.add(candle)
    assert len(book.history("BTCUSDT", "5m")) == 60 // 5 + 1


def test_bad_intervals_are_refused_and_a_dropped_symbol_starts_again(
    rows: list[list[Any]],
) -> None:
    book, _ = run(rows[:20], 0)
    with pytest.raises(ValueError, match="2m"):
        book.keep(["5m", "2m"])
    assert book.kept == HIGHER
    with pytest.raises(ValueError, match="1m"):
        book.history("BTCUSDT", "1m")
    assert book.history("BTCUSDT", "5m")
    book.drop("BTCUSDT")
    book._minutes = Minutes()  # the aggregator forgot the symbol too
    assert book.history("BTCUSDT", "5m") == []
