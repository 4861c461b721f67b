"""ccxt (REST) and ccxt.pro (streams) market data against the simulator, unchanged but for URLs.

ccxt.pro opens `<base>/ws/<n>` and sends SUBSCRIBE; its order book follows Binance's documented
sync (buffer the diff stream, fetch the depth snapshot, apply events with U <= id+1 <= u).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest
import pytest_asyncio

from simulator import Simulator
from tests.simulator.conftest import make_config

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.e2e]

OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False}


def _point(exchange: Any, sim: Simulator) -> Any:
    """Every ccxt URL to the simulator (no request may leave loopback), spot REST at /api/v3."""
    root = sim.rest_url.removesuffix("/api")
    for name, url in list(exchange.urls["api"].items()):
        if isinstance(url, str):
            exchange.urls["api"][name] = root + "/" + url.split("://", 1)[1].split("/", 1)[1]
    ws = exchange.urls["api"].get("ws")
    if isinstance(ws, dict):
        ws["spot"] = f"ws://127.0.0.1:{sim.port}/ws"
    return exchange


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(make_config(history_minutes=600, trade_rate=0.5)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def rest(sim: Simulator) -> AsyncIterator[Any]:
    exchange = _point(ccxt_async.binance({"options": dict(OPTIONS)}), sim)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pro(sim: Simulator) -> AsyncIterator[Any]:
    exchange = _point(ccxt_pro.binance({"options": dict(OPTIONS)}), sim)
    await exchange.load_markets()
    yield exchange
    await exchange.close()


async def test_fetch_ticker_and_tickers(rest: Any, sim: Simulator) -> None:
    ticker = await rest.fetch_ticker("BTC/USDT")
    last = sim.trades("BTCUSDT")[-1].price
    assert ticker["symbol"] == "BTC/USDT"
    assert ticker["bid"] < ticker["ask"]
    assert Decimal(str(ticker["bid"])) <= last + Decimal("1000")  # same market, same scale
    assert ticker["high"] >= ticker["last"] >= ticker["low"] > 0
    assert ticker["baseVolume"] > 0 and ticker["quoteVolume"] > ticker["baseVolume"]
    tickers = await rest.fetch_tickers(["BTC/USDT", "ETH/USDT"])
    assert set(tickers) == {"BTC/USDT", "ETH/USDT"}
    every = await rest.fetch_tickers()
    assert set(every) == {"BTC/USDT", "ETH/USDT"}


async def test_fetch_bids_asks_straddle_the_last_trade(rest: Any, sim: Simulator) -> None:
    quotes = await rest.fetch_bids_asks(["BTC/USDT", "ETH/USDT"])
    assert set(quotes) == {"BTC/USDT", "ETH/USDT"}
    for quote in quotes.values():
        assert quote["bid"] < quote["ask"] and quote["bidVolume"] > 0


async def test_fetch_order_book(rest: Any, sim: Simulator) -> None:
    book = await rest.fetch_order_book("ETH/USDT", limit=50)
    last = sim.trades("ETHUSDT")[-1].price
    assert len(book["bids"]) == len(book["asks"]) == 50
    best_bid, best_ask = Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))
    assert best_ask - best_bid == Decimal("0.01")
    assert abs(best_bid - last) < 50  # the book sits on the tape (trades moved on since)
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])
    assert isinstance(book["nonce"], int)


@pytest.mark.parametrize("timeframe", ["1m", "5m", "1h"])
async def test_fetch_ohlcv_since_limit_returns_exactly_limit(rest: Any, timeframe: str) -> None:
    recent = await rest.fetch_ohlcv("BTC/USDT", timeframe, limit=8)
    assert len(recent) == 8
    step = recent[1][0] - recent[0][0]
    assert step == rest.parse_timeframe(timeframe) * 1000
    since = recent[0][0] + 1  # not on a boundary: the first row opens after it
    rows = await rest.fetch_ohlcv("BTC/USDT", timeframe, since=since, limit=5)
    assert [r[0] for r in rows] == [r[0] for r in recent[1:6]]
    rows = await rest.fetch_ohlcv("BTC/USDT", timeframe, since=recent[0][0], limit=5)
    assert [r[0] for r in rows] == [r[0] for r in recent[:5]]


async def test_fetch_trades(rest: Any, sim: Simulator) -> None:
    trades = await rest.fetch_trades("BTC/USDT", limit=20)
    assert len(trades) == 20
    ids = [int(t["id"]) for t in trades]
    assert ids == list(range(ids[0], ids[0] + 20))
    served = {t.id: t for t in sim.trades("BTCUSDT")}
    for t in trades:
        assert Decimal(str(t["price"])) == served[int(t["id"])].price


async def test_watch_trades(pro: Any, sim: Simulator) -> None:
    seen: list[dict[str, Any]] = []
    while len(seen) < 10:
        seen += await asyncio.wait_for(pro.watch_trades("BTC/USDT"), 5)
    ids = [int(t["id"]) for t in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    served = {t.id: t for t in sim.trades("BTCUSDT")}
    assert all(Decimal(str(t["price"])) == served[int(t["id"])].price for t in seen)


@pytest.mark.parametrize("timeframe", ["1m", "5m"])
async def test_watch_ohlcv_matches_rest(pro: Any, rest: Any, timeframe: str) -> None:
    first = await asyncio.wait_for(pro.watch_ohlcv("ETH/USDT", timeframe), 5)
    opened = first[-1][0]
    candles = first
    while candles[-1][0] == opened:  # wait for the next kline: the first one is then closed
        candles = await asyncio.wait_for(pro.watch_ohlcv("ETH/USDT", timeframe), 5)
    stored = pro.ohlcvs["ETH/USDT"][timeframe]
    closed = next(c for c in stored if c[0] == opened)
    (rest_row,) = await rest.fetch_ohlcv("ETH/USDT", timeframe, since=opened, limit=1)
    assert closed == rest_row


async def test_watch_ticker_and_bids_asks(pro: Any) -> None:
    mini = await asyncio.wait_for(pro.watch_ticker("BTC/USDT"), 5)  # ccxt's default: miniTicker
    assert mini["symbol"] == "BTC/USDT" and mini["info"]["e"] == "24hrMiniTicker"
    assert mini["high"] >= mini["last"] >= mini["low"] > 0
    full = await asyncio.wait_for(pro.watch_ticker("ETH/USDT", {"name": "ticker"}), 5)
    assert full["info"]["e"] == "24hrTicker"
    assert full["bid"] < full["ask"] and full["bidVolume"] > 0 and full["last"] > 0
    quotes = await asyncio.wait_for(pro.watch_bids_asks(["BTC/USDT"]), 5)
    assert quotes["BTC/USDT"]["bid"] < quotes["BTC/USDT"]["ask"]


async def test_watch_order_book_syncs_with_the_snapshot() -> None:
    """At speed 2 (a trade every ~0.25 s) most events leave the server's book where they end."""
    async with Simulator(make_config(speed=2.0)) as slow:
        pro = _point(ccxt_pro.binance({"options": dict(OPTIONS)}), slow)
        try:
            await pro.load_markets()
            book = await asyncio.wait_for(pro.watch_order_book("BTC/USDT"), 10)
            nonces = [book["nonce"]]
            server = slow.state.books["BTCUSDT"]
            compared = 0
            while compared < 3:
                book = await asyncio.wait_for(pro.watch_order_book("BTC/USDT"), 5)
                nonces.append(book["nonce"])
                if book["nonce"] == server.update_id:  # no trade released since that event
                    bids, asks = server.top(1000)
                    assert book["bids"] == [[float(p), float(q)] for p, q in bids]
                    assert book["asks"] == [[float(p), float(q)] for p, q in asks]
                    compared += 1
        finally:
            await pro.close()
    assert nonces == sorted(nonces) and nonces[-1] > nonces[0]
    assert book["bids"][0][0] < book["asks"][0][0]
