"""Public REST endpoints through python-binance's AsyncClient, compared with recorded payloads."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import Simulator
from tests.simulator.conftest import assert_shape, candles_from_trades, kline_fields


async def test_ping_and_time_follow_the_market_clock(client: AsyncClient, sim: Simulator) -> None:
    assert await client.ping() == {}
    before = sim.clock.now_ms()
    server = (await client.get_server_time())["serverTime"]
    assert isinstance(server, int)
    assert before <= server <= sim.clock.now_ms()
    assert server >= sim.clock.start_ms


async def test_exchange_info_symbol_is_shaped_like_the_testnets(client: AsyncClient, load) -> None:
    recorded = load("testnet-btcusdt-2026-06-15/symbol_info.json")
    info = await client.get_symbol_info("BTCUSDT")
    assert info is not None
    assert_shape(
        {k: v for k, v in info.items() if k != "filters"},
        {k: v for k, v in recorded.items() if k != "filters"},
    )
    mine = {f["filterType"]: f for f in info["filters"]}
    theirs = {f["filterType"]: f for f in recorded["filters"]}
    assert set(mine) == set(theirs)
    for kind, body in theirs.items():
        assert_shape(mine[kind], body)
    assert mine["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert mine["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert mine["NOTIONAL"]["minNotional"] == "5.00000000"
    everything = await client.get_exchange_info()
    assert [s["symbol"] for s in everything["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert everything["rateLimits"][0]["limit"] == 6000


async def test_unknown_symbol_is_minus_1121(client: AsyncClient) -> None:
    assert await client.get_symbol_info("NOPEUSDT") is None  # python-binance filters locally
    for call in (
        client._get("exchangeInfo", data={"symbol": "NOPEUSDT"}),
        client.get_klines(symbol="NOPEUSDT", interval="1m"),
        client.get_recent_trades(symbol="DOGEUSDT"),
    ):
        with pytest.raises(BinanceAPIException) as err:
            await call
        assert (err.value.code, err.value.status_code) == (-1121, 400)
        assert err.value.message == "Invalid symbol."


async def test_bad_parameters_get_binance_codes(client: AsyncClient) -> None:
    with pytest.raises(BinanceAPIException) as err:
        await client.get_klines(symbol="BTCUSDT", interval="7m")
    assert err.value.code == -1120
    with pytest.raises(BinanceAPIException) as err:
        await client.get_klines(symbol="BTCUSDT", interval="1m", limit="ten")
    assert err.value.code == -1100
    with pytest.raises(BinanceAPIException) as err:
        await client.get_klines(symbol="BTCUSDT")
    assert err.value.code == -1102


async def test_klines_are_the_candles_of_the_served_trades(
    client: AsyncClient, sim: Simulator, load
) -> None:
    first = (await client.get_historical_trades(symbol="BTCUSDT", fromId=0, limit=1))[0]
    trades: list[dict[str, Any]] = []
    from_id = first["id"]
    while True:
        page = await client.get_historical_trades(symbol="BTCUSDT", fromId=from_id, limit=1000)
        trades += page
        if len(page) < 1000:
            break
        from_id = page[-1]["id"] + 1
    # Fetched after the trades: every minute before the last fetched trade's is complete in both.
    klines = await client.get_klines(symbol="BTCUSDT", interval="1m", limit=1000)
    recorded = load("testnet-btcusdt-2026-06-15/klines_1m.json")
    for row in klines:
        assert_shape(row, recorded[0])
    ids = [t["id"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    computed = candles_from_trades(trades)
    by_minute = {row[0]: row for row in klines}
    full_minutes = sorted(computed)[:-1]
    assert len(full_minutes) >= 29
    for minute in full_minutes:
        row = by_minute[minute]
        assert kline_fields(row) == computed[minute], minute
        assert row[6] == minute + 59_999
    assert klines[-1][0] >= max(computed)  # the last row is the open minute


async def test_klines_select_like_binance(client: AsyncClient, sim: Simulator) -> None:
    all_rows = await client.get_klines(symbol="ETHUSDT", interval="1m", limit=1000)
    start = all_rows[3][0]
    rows = await client.get_klines(symbol="ETHUSDT", interval="1m", startTime=start, limit=5)
    assert [r[0] for r in rows] == [r[0] for r in all_rows[3:8]]
    end = all_rows[10][0]
    rows = await client.get_klines(symbol="ETHUSDT", interval="1m", endTime=end, limit=4)
    assert [r[0] for r in rows] == [r[0] for r in all_rows[7:11]]
    last = await client.get_klines(symbol="ETHUSDT", interval="1m", limit=2)
    assert len(last) == 2 and last[0][0] + 60_000 == last[1][0]


async def test_trade_endpoints_match_recorded_shapes(client: AsyncClient, load) -> None:
    trades = await client.get_recent_trades(symbol="BTCUSDT", limit=20)
    assert len(trades) == 20
    for row in trades:
        assert_shape(row, load("testnet-btcusdt-2026-06-15/trades.json")[0])
        assert Decimal(row["quoteQty"]) == Decimal(row["price"]) * Decimal(row["qty"])
        assert Decimal(row["price"]) % Decimal("0.01") == 0
        assert Decimal(row["qty"]) % Decimal("0.00001") == 0
    historical = await client.get_historical_trades(
        symbol="BTCUSDT", fromId=trades[0]["id"], limit=5
    )
    assert historical == trades[:5]
    aggs = await client.get_aggregate_trades(symbol="BTCUSDT", fromId=trades[0]["id"], limit=5)
    for agg, trade in zip(aggs, trades[:5], strict=True):
        assert_shape(agg, load("testnet-btcusdt-2026-06-15/aggTrades.json")[0])
        assert (agg["f"], agg["p"], agg["q"], agg["T"]) == (
            trade["id"],
            trade["price"],
            trade["qty"],
            trade["time"],
        )
    window = await client.get_aggregate_trades(
        symbol="BTCUSDT", startTime=trades[0]["time"], endTime=trades[-1]["time"]
    )
    assert {t["id"] for t in trades} <= {a["a"] for a in window}


async def test_ticker_and_avg_price(client: AsyncClient) -> None:
    price = await client.get_symbol_ticker(symbol="ETHUSDT")
    assert price["symbol"] == "ETHUSDT"
    assert Decimal("2000") < Decimal(price["price"]) < Decimal("4000")
    avg = await client.get_avg_price(symbol="BTCUSDT")
    assert avg["mins"] == 5 and isinstance(avg["closeTime"], int)
    assert Decimal("50000") < Decimal(avg["price"]) < Decimal("80000")
    both = await client.get_symbol_ticker()
    assert [p["symbol"] for p in both] == ["BTCUSDT", "ETHUSDT"]


async def test_weight_headers_on_every_response(client: AsyncClient) -> None:
    await client.ping()
    first = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
    await client.get_exchange_info()
    assert int(client.response.headers["X-MBX-USED-WEIGHT-1M"]) == first + 20
    with pytest.raises(BinanceAPIException):
        await client.get_klines(symbol="NOPE", interval="1m")
    assert int(client.response.headers["X-MBX-USED-WEIGHT-1M"]) == first + 22


async def test_python_binance_market_data_calls(client: AsyncClient) -> None:
    book = await client.get_order_book(symbol="BTCUSDT", limit=5)
    assert len(book["bids"]) == 5 and book["lastUpdateId"] > 0
    ticker = await client.get_ticker(symbol="ETHUSDT")
    assert ticker["symbol"] == "ETHUSDT" and int(ticker["count"]) > 0
    assert len(await client.get_ticker()) == 2
    top = await client.get_orderbook_ticker(symbol="BTCUSDT")
    assert Decimal(top["bidPrice"]) < Decimal(top["askPrice"])
    assert [t["symbol"] for t in await client.get_orderbook_tickers()] == ["BTCUSDT", "ETHUSDT"]
    hours = await client.get_klines(symbol="BTCUSDT", interval="1h", limit=2)
    assert hours[1][0] - hours[0][0] == 3_600_000
    ui = await client.get_ui_klines(symbol="BTCUSDT", interval="1h", limit=2)
    assert [r[0] for r in ui] == [r[0] for r in hours]
    minutes = await client.get_klines(symbol="BTCUSDT", interval="1m", startTime=0, limit=3)
    start = minutes[0][0] + 1  # get_historical_klines pages by startTime: no row before it
    rows = await client.get_historical_klines("BTCUSDT", "1m", start_str=start, limit=1000)
    assert [r[0] for r in rows[:2]] == [r[0] for r in minutes[1:]]
