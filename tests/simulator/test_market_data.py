"""Market-data REST: klines of every interval, depth, tickers, over HTTP on loopback.

Klines are checked against an aggregation computed here, with interval boundaries computed
here, from the trades the simulator serves on /historicalTrades: an independent reference.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from simulator import Simulator
from tests.simulator.conftest import kline_fields, make_config

pytestmark = pytest.mark.asyncio(loop_scope="module")

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
FIXED = {
    "1s": 1000,
    "1m": MIN,
    "3m": 3 * MIN,
    "5m": 5 * MIN,
    "15m": 15 * MIN,
    "30m": 30 * MIN,
    "1h": HOUR,
    "2h": 2 * HOUR,
    "4h": 4 * HOUR,
    "6h": 6 * HOUR,
    "8h": 8 * HOUR,
    "12h": 12 * HOUR,
    "1d": DAY,
    "3d": 3 * DAY,
}


def window_of(ts: int, interval: str, offset: int = 0) -> tuple[int, int]:
    """[open, next open) of the kline holding `ts`, computed without the simulator's code."""
    local = datetime.fromtimestamp((ts + offset) / 1000, tz=UTC)
    if interval == "1M":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
        return int(start.timestamp() * 1000) - offset, int(end.timestamp() * 1000) - offset
    if interval == "1w":
        monday = local.replace(hour=0, minute=0, second=0, microsecond=0)
        opened = int(monday.timestamp() * 1000) - local.weekday() * DAY - offset
        return opened, opened + 7 * DAY
    size = FIXED[interval]
    opened = (ts + offset) // size * size - offset
    return opened, opened + size


def aggregate(trades: list[dict[str, Any]]) -> list[Any]:
    """The nine kline fields of a run of REST trade rows."""
    prices = [Decimal(t["price"]) for t in trades]
    qty = [Decimal(t["qty"]) for t in trades]
    buys = [(p, q) for p, q, t in zip(prices, qty, trades, strict=True) if not t["isBuyerMaker"]]
    return [
        prices[0],
        max(prices),
        min(prices),
        prices[-1],
        sum(qty, Decimal(0)),
        sum((p * q for p, q in zip(prices, qty, strict=True)), Decimal(0)),
        len(trades),
        sum((q for _, q in buys), Decimal(0)),
        sum((p * q for p, q in buys), Decimal(0)),
    ]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(make_config(history_minutes=600, trade_rate=0.5)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def http(sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sim.rest_url.removesuffix("/api")) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> Any:
    async with http.get(f"/api/v3/{path}", params=params) as response:
        body = await response.json()
        if response.status != 200:
            return response.status, body
        return body


_SEEN: dict[str, list[dict[str, Any]]] = {}  # trades fetched so far, per symbol


async def all_trades(http: aiohttp.ClientSession, symbol: str) -> list[dict[str, Any]]:
    """Every trade served so far (fetched once, then only the new ones)."""
    rows = _SEEN.setdefault(symbol, [])
    if rows:
        next_id = rows[-1]["id"] + 1
    else:
        next_id = (await get(http, "historicalTrades", symbol=symbol, fromId=0, limit=1))[0]["id"]
    while True:
        page = await get(http, "historicalTrades", symbol=symbol, fromId=next_id, limit=1000)
        rows += page
        if len(page) < 1000:
            return list(rows)
        next_id = page[-1]["id"] + 1


@pytest.mark.parametrize(
    ("interval", "zone", "offset"),
    [
        ("1s", None, 0),
        ("1m", None, 0),
        ("3m", None, 0),
        ("5m", None, 0),
        ("15m", None, 0),
        ("30m", None, 0),
        ("1h", None, 0),
        ("1h", "5:45", 5 * HOUR + 45 * MIN),
        ("2h", None, 0),
        ("4h", "-3", -3 * HOUR),
        ("6h", None, 0),
        ("8h", None, 0),
        ("12h", None, 0),
        ("1d", None, 0),
        ("1d", "+08:00", 8 * HOUR),
        ("3d", None, 0),
        ("1w", None, 0),
        ("1M", None, 0),
    ],
)
async def test_every_interval_is_the_aggregation_of_the_served_trades(
    http: aiohttp.ClientSession, interval: str, zone: str | None, offset: int
) -> None:
    params: dict[str, Any] = {"symbol": "ETHUSDT", "interval": interval, "limit": 1000}
    if zone is not None:
        params["timeZone"] = zone
    if interval == "1s":  # 1000 seconds of a 10 h history: take the oldest ones
        params["startTime"] = 0
    klines = await get(http, "klines", **params)
    trades = await all_trades(http, "ETHUSDT")  # fetched after: a superset of the klines'
    assert klines and trades
    by_window: dict[int, list[dict[str, Any]]] = {}
    for t in trades:
        by_window.setdefault(window_of(t["time"], interval, offset)[0], []).append(t)
    previous_close: Decimal | None = None
    for row in klines:
        opened, closes = window_of(row[0], interval, offset)
        assert (row[0], row[6]) == (opened, closes - 1)
        served = by_window.get(opened, [])[: row[8]]  # the open kline: the trades it had then
        if served:
            assert kline_fields(row) == aggregate(served), (interval, opened)
        else:  # no trade: flat at the previous close, volume 0
            assert row[8] == 0 and Decimal(row[5]) == 0
            assert previous_close is None or Decimal(row[4]) == previous_close
            assert row[1] == row[2] == row[3] == row[4]
        previous_close = Decimal(row[4])
    opens = [r[0] for r in klines]
    assert opens == sorted(set(opens))
    assert all(window_of(a, interval, offset)[1] == b for a, b in pairwise(opens))


@pytest.mark.parametrize("interval", ["1m", "5m", "1h"])
async def test_start_time_selects_the_first_kline_opening_at_or_after_it(
    http: aiohttp.ClientSession, interval: str
) -> None:
    recent = await get(http, "klines", symbol="BTCUSDT", interval=interval, limit=6)
    assert len(recent) == 6
    on_boundary = await get(
        http, "klines", symbol="BTCUSDT", interval=interval, startTime=recent[0][0], limit=3
    )
    assert [r[0] for r in on_boundary] == [r[0] for r in recent[:3]]
    after = await get(
        http, "klines", symbol="BTCUSDT", interval=interval, startTime=recent[0][0] + 1, limit=3
    )
    assert [r[0] for r in after] == [r[0] for r in recent[1:4]]
    ending = await get(
        http,
        "klines",
        symbol="BTCUSDT",
        interval=interval,
        endTime=recent[3][0] + 1,
        startTime=recent[0][0] + 1,
    )
    assert [r[0] for r in ending] == [r[0] for r in recent[1:4]]
    last_two = await get(
        http, "klines", symbol="BTCUSDT", interval=interval, endTime=recent[4][6], limit=2
    )
    assert [r[0] for r in last_two] == [r[0] for r in recent[3:5]]


async def test_ui_klines_equal_klines(http: aiohttp.ClientSession) -> None:
    plain = await get(http, "klines", symbol="BTCUSDT", interval="15m", startTime=0, limit=10)
    ui = await get(http, "uiKlines", symbol="BTCUSDT", interval="15m", startTime=0, limit=10)
    assert ui == plain and len(ui) == 10


async def test_kline_parameter_errors(http: aiohttp.ClientSession) -> None:
    assert (await get(http, "klines", symbol="BTCUSDT", interval="2m"))[1]["code"] == -1120
    assert (await get(http, "klines", symbol="BTCUSDT", interval="1m", timeZone="15"))[1][
        "code"
    ] == -1130
    assert (await get(http, "klines", symbol="BTCUSDT", interval="1m", timeZone="x"))[1][
        "code"
    ] == -1100
    assert (await get(http, "uiKlines", symbol="BTCUSDT"))[1]["code"] == -1102


async def test_depth_sits_on_the_tape(http: aiohttp.ClientSession, sim: Simulator) -> None:
    depth = await get(http, "depth", symbol="BTCUSDT", limit=5)
    last = await get(http, "trades", symbol="BTCUSDT", limit=1)
    assert set(depth) == {"lastUpdateId", "bids", "asks"}
    assert len(depth["bids"]) == len(depth["asks"]) == 5
    assert depth["lastUpdateId"] <= last[0]["id"]
    bids = [Decimal(p) for p, _ in depth["bids"]]
    asks = [Decimal(p) for p, _ in depth["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert asks[0] - bids[0] == Decimal("0.01")
    if depth["lastUpdateId"] == last[0]["id"]:  # no trade since: the last price is a best price
        assert Decimal(last[0]["price"]) in (bids[0], asks[0])
    assert all(Decimal(q) > 0 for _, q in depth["bids"] + depth["asks"])
    default = await get(http, "depth", symbol="BTCUSDT")
    assert len(default["bids"]) == 100


async def test_depth_weight_follows_the_limit(http: aiohttp.ClientSession) -> None:
    used = []
    for limit in (100, 101, 1000, 5000):
        async with http.get("/api/v3/depth", params={"symbol": "ETHUSDT", "limit": limit}) as r:
            used.append(int(r.headers["X-MBX-USED-WEIGHT-1M"]))
    assert [b - a for a, b in pairwise(used)] == [25, 50, 250]


async def test_ticker_24hr_full_and_mini(http: aiohttp.ClientSession, sim: Simulator) -> None:
    full = await get(http, "ticker/24hr", symbol="BTCUSDT")
    trades = await all_trades(http, "BTCUSDT")
    assert list(full) == [
        "symbol",
        "priceChange",
        "priceChangePercent",
        "weightedAvgPrice",
        "prevClosePrice",
        "lastPrice",
        "lastQty",
        "bidPrice",
        "bidQty",
        "askPrice",
        "askQty",
        "openPrice",
        "highPrice",
        "lowPrice",
        "volume",
        "quoteVolume",
        "openTime",
        "closeTime",
        "firstId",
        "lastId",
        "count",
    ]
    assert full["closeTime"] - full["openTime"] == DAY
    window = [t for t in trades if full["openTime"] <= t["time"] <= full["closeTime"]]
    window = window[: full["count"]]
    assert window[0]["id"] == full["firstId"] and window[-1]["id"] == full["lastId"]
    fields = aggregate(window)
    assert [Decimal(full[k]) for k in ("openPrice", "highPrice", "lowPrice", "lastPrice")] == (
        fields[:4]
    )
    assert Decimal(full["volume"]) == fields[4]
    assert Decimal(full["priceChange"]) == fields[3] - fields[0]
    assert Decimal(full["bidPrice"]) < Decimal(full["askPrice"])
    mini = await get(http, "ticker/24hr", symbol="BTCUSDT", type="MINI")
    assert set(mini) == {
        "symbol",
        "openPrice",
        "highPrice",
        "lowPrice",
        "lastPrice",
        "volume",
        "quoteVolume",
        "openTime",
        "closeTime",
        "firstId",
        "lastId",
        "count",
    }
    both = await get(http, "ticker/24hr", symbols='["BTCUSDT","ETHUSDT"]')
    assert [t["symbol"] for t in both] == ["BTCUSDT", "ETHUSDT"]
    assert [t["symbol"] for t in await get(http, "ticker/24hr")] == ["BTCUSDT", "ETHUSDT"]
    assert (await get(http, "ticker/24hr", symbol="BTCUSDT", type="HUGE"))[0] == 400


async def test_rolling_ticker_window(http: aiohttp.ClientSession) -> None:
    hour = await get(http, "ticker", symbol="ETHUSDT", windowSize="1h")
    assert hour["openTime"] % MIN == 0
    assert HOUR <= hour["closeTime"] - hour["openTime"] < HOUR + MIN
    assert "prevClosePrice" not in hour and "weightedAvgPrice" in hour
    trades = await all_trades(http, "ETHUSDT")
    window = [t for t in trades if t["time"] >= hour["openTime"]][: hour["count"]]
    assert (window[0]["id"], window[-1]["id"]) == (hour["firstId"], hour["lastId"])
    assert Decimal(hour["quoteVolume"]) == aggregate(window)[5]
    mini = await get(http, "ticker", symbols='["ETHUSDT","BTCUSDT"]', windowSize="30m", type="MINI")
    assert [m["symbol"] for m in mini] == ["ETHUSDT", "BTCUSDT"]
    assert "priceChange" not in mini[0]
    assert (await get(http, "ticker"))[1]["code"] == -1102
    assert (await get(http, "ticker", symbol="ETHUSDT", windowSize="8d"))[0] == 400


async def test_book_ticker_is_the_top_of_the_depth(http: aiohttp.ClientSession) -> None:
    one = await get(http, "ticker/bookTicker", symbol="ETHUSDT")
    assert list(one) == ["symbol", "bidPrice", "bidQty", "askPrice", "askQty"]
    assert Decimal(one["askPrice"]) - Decimal(one["bidPrice"]) == Decimal("0.01")
    every = await get(http, "ticker/bookTicker")
    assert [t["symbol"] for t in every] == ["BTCUSDT", "ETHUSDT"]
    price = await get(http, "ticker/price", symbol="ETHUSDT")
    assert Decimal(one["bidPrice"]) - 100 < Decimal(price["price"]) < Decimal(one["askPrice"]) + 100
