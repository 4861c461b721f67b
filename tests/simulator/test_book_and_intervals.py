"""Table tests of the pure parts: kline boundaries in time zones, and the book's diff feeds."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from simulator.book import LEVELS, OrderBook
from simulator.config import make_spec
from simulator.errors import ApiError
from simulator.intervals import Interval, parse_time_zone, parse_window
from simulator.market import Trade


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("interval", "zone", "instant", "opens", "next_opens"),
    [
        ("1M", "0", "2024-02-29T23:59:59", "2024-02-01T00:00:00", "2024-03-01T00:00:00"),
        ("1M", "0", "2024-12-31T12:00:00", "2024-12-01T00:00:00", "2025-01-01T00:00:00"),
        # 2024-12-31 20:00 UTC is already 2025-01-01 in UTC+8: January's kline, opening at 16:00
        ("1M", "8", "2024-12-31T20:00:00", "2024-12-31T16:00:00", "2025-01-31T16:00:00"),
        ("1M", "-1:00", "2025-03-01T00:30:00", "2025-02-01T01:00:00", "2025-03-01T01:00:00"),
        ("1w", "0", "2024-06-09T23:59:59", "2024-06-03T00:00:00", "2024-06-10T00:00:00"),
        ("1w", "0", "2024-06-10T00:00:00", "2024-06-10T00:00:00", "2024-06-17T00:00:00"),
        ("1d", "+08:00", "2024-06-10T15:59:59", "2024-06-09T16:00:00", "2024-06-10T16:00:00"),
        ("1d", "14", "2024-06-10T10:00:00", "2024-06-10T10:00:00", "2024-06-11T10:00:00"),
        ("1h", "05:45", "2024-06-10T10:14:00", "2024-06-10T09:15:00", "2024-06-10T10:15:00"),
        ("4h", "-3", "2024-06-10T02:00:00", "2024-06-09T23:00:00", "2024-06-10T03:00:00"),
        ("3d", "0", "1970-01-04T00:00:00", "1970-01-04T00:00:00", "1970-01-07T00:00:00"),
        ("15m", "0", "2024-06-10T10:14:59", "2024-06-10T10:00:00", "2024-06-10T10:15:00"),
        ("1s", "0", "2024-06-10T10:14:59.999", "2024-06-10T10:14:59", "2024-06-10T10:15:00"),
    ],
)
def test_kline_boundaries(
    interval: str, zone: str, instant: str, opens: str, next_opens: str
) -> None:
    iv = Interval.parse(interval, parse_time_zone(zone))
    assert iv.open_of(ms(instant)) == ms(opens)
    assert iv.next_open(ms(opens)) == ms(next_opens)
    assert iv.open_of(ms(next_opens) - 1) == ms(opens)


@pytest.mark.parametrize(
    ("text", "code"), [("15", -1130), ("-12:01", -1130), ("8:60", -1100), ("x", -1100)]
)
def test_bad_time_zones(text: str, code: int) -> None:
    with pytest.raises(ApiError) as err:
        parse_time_zone(text)
    assert err.value.code == code


def test_window_sizes() -> None:
    assert parse_window("59m") == 59 * 60_000
    assert parse_window("7d") == 7 * 86_400_000
    for bad in ("60m", "24h", "8d", "1d2h", "0m", "1w"):
        with pytest.raises(ApiError):
            parse_window(bad)
    with pytest.raises(ApiError):
        Interval.parse("2m")


def _trades(price: Decimal, count: int, seed: int, jump_at: int = -1) -> list[Trade]:
    rng = random.Random(seed)
    out = []
    tick = Decimal("0.01")
    for i in range(count):
        price += tick * rng.randint(-400, 400)
        if i == jump_at:
            price *= Decimal("0.8")  # a crash: the whole book moves
            price = price.quantize(tick)
        out.append(Trade(1_000_000 + i, price, Decimal("0.001"), i * 500, rng.random() < 0.5))
    return out


def test_a_book_rebuilt_from_its_diffs_equals_the_book() -> None:
    """A snapshot plus every drained diff, applied as a client does, gives the book itself."""
    spec = make_spec("BTCUSDT", 1)
    trades = _trades(spec.start_price, 1200, seed=5, jump_at=600)
    book = OrderBook(spec, 1, trades[0])
    feed = book.feed()
    bids, asks = ({p: q for p, q in side} for side in book.top(LEVELS))
    local_id = book.update_id
    rng = random.Random(9)
    i = 1
    while i < len(trades):
        batch = trades[i : i + rng.randint(1, 40)]
        i += len(batch)
        book.apply(batch)
        diff = book.drain(feed)
        assert diff is not None
        assert diff.first_id == local_id + 1 and diff.last_id == batch[-1].id
        for side, levels in ((bids, diff.bids), (asks, diff.asks)):
            for price, qty in levels:
                if Decimal(qty) == 0:
                    del side[price]
                else:
                    side[price] = qty
        local_id = diff.last_id
        top_bids, top_asks = book.top(LEVELS)
        assert sorted(bids.items(), key=lambda kv: -Decimal(kv[0])) == [tuple(x) for x in top_bids]
        assert sorted(asks.items(), key=lambda kv: Decimal(kv[0])) == [tuple(x) for x in top_asks]
        best_bid, _, best_ask, _ = book.best()
        assert best_ask - best_bid == spec.tick_size
        assert batch[-1].price in (best_bid, best_ask)  # the last trade is a best price
        assert len(top_bids) == len(top_asks) == LEVELS
    assert book.drain(feed) is None  # nothing changed since
