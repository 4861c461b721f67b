"""Market controls (/sim/shock, /sim/reset, their CLI flags) and the bounded trade window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from simulator import Simulator
from simulator.__main__ import main
from simulator.controls import Shock
from tests.simulator.conftest import KEY, make_client, make_config


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{sim.port}") as session:
        yield session


async def _last(client: AsyncClient, symbol: str = "BTCUSDT") -> Decimal:
    return Decimal((await client.get_symbol_ticker(symbol=symbol))["price"])


async def test_shock_moves_the_price_at_once_with_a_trade(
    sim: Simulator, client: AsyncClient, http: aiohttp.ClientSession
) -> None:
    before = await _last(client)
    async with http.post("/sim/shock", json={"symbol": "BTCUSDT", "percent": -10}) as resp:
        assert resp.status == 200
        body = await resp.json()
    price = Decimal(body["price"])
    assert abs(price / before - Decimal("0.9")) < Decimal("0.002")
    trades = await client.get_historical_trades(symbol="BTCUSDT", fromId=body["tradeId"], limit=5)
    assert trades[0]["id"] == body["tradeId"] and Decimal(trades[0]["price"]) == price
    # The path goes on from the new level instead of jumping back.
    later = sim.trades("BTCUSDT")[-1].price
    assert abs(later / price - 1) < Decimal("0.02")
    # The other symbol did not move.
    eth = sim.state.tape("ETHUSDT").spec.start_price
    assert abs(await _last(client, "ETHUSDT") / eth - 1) < Decimal("0.05")


async def test_shock_as_form_parameters_and_a_spike(
    client: AsyncClient, http: aiohttp.ClientSession
) -> None:
    before = await _last(client, "ETHUSDT")
    async with http.post("/sim/shock?symbol=ETHUSDT&percent=25") as resp:
        body = await resp.json()
    assert resp.status == 200
    assert abs(Decimal(body["price"]) / before - Decimal("1.25")) < Decimal("0.002")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"symbol": "NOPEUSDT", "percent": 5}, -1121),
        ({"symbol": "btcusdt", "percent": 5}, -1121),
        ({"symbol": "BTCUSDT"}, -1102),
        ({"percent": 5}, -1102),
        ({"symbol": "BTCUSDT", "percent": -100}, -1100),
        ({"symbol": "BTCUSDT", "percent": "ten"}, -1102),
    ],
)
async def test_bad_shock_is_a_clear_error_and_changes_nothing(
    sim: Simulator, http: aiohttp.ClientSession, payload: dict[str, object], code: int
) -> None:
    last_id = sim.trades("BTCUSDT")[-1].id
    async with http.post("/sim/shock", json=payload) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == code
    assert all(t.price > 1000 for t in sim.trades("BTCUSDT") if t.id > last_id)
    assert sim.stats().get("shocks", 0) == 0


async def test_reset_restores_balances_and_drops_every_order(
    sim: Simulator, client: AsyncClient, http: aiohttp.ClientSession
) -> None:
    filled = await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    far = (await _last(client) * Decimal("0.6")).quantize(Decimal("0.01"))
    await client.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
        price=str(far),
    )  # fmt: skip
    assert sim.accounts.account(KEY).locked["USDT"] > 0
    async with http.post("/sim/reset") as resp:
        assert resp.status == 200 and (await resp.json())["reset"] is True
    account = await client.get_account()
    free = {b["asset"]: (b["free"], b["locked"]) for b in account["balances"]}
    assert free["USDT"] == ("10000.00000000", "0.00000000")
    assert free["BTC"] == ("1.00000000", "0.00000000")
    assert await client.get_open_orders(symbol="BTCUSDT") == []
    assert await client.get_all_orders(symbol="BTCUSDT") == []
    assert await client.get_my_trades(symbol="BTCUSDT") == []
    with pytest.raises(BinanceAPIException) as err:
        await client.get_order(symbol="BTCUSDT", orderId=filled["orderId"])
    assert err.value.code == -2013
    again = await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert again["orderId"] > filled["orderId"]  # ids keep growing across a reset


async def test_scheduled_shock_and_reset(sim: Simulator, client: AsyncClient) -> None:
    before = await _last(client)
    await client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    await sim.controls.run_schedule([Shock("BTCUSDT", Decimal(-30), 0.0)], [0.0])
    assert await _last(client) < before * Decimal("0.75")
    assert sim.balances()["BTC"] == Decimal(1)


def test_shock_flag_parsing() -> None:
    assert Shock.parse("BTCUSDT:-10@30") == Shock("BTCUSDT", Decimal(-10), 30.0)
    assert Shock.parse("ETHUSDT:5.5@0") == Shock("ETHUSDT", Decimal("5.5"), 0.0)
    for bad in ("BTCUSDT:-10", "BTCUSDT@5", ":5@1", "BTCUSDT:x@1", "BTCUSDT:-100@1"):
        with pytest.raises(ValueError):
            Shock.parse(bad)


def test_bad_control_flags_stop_the_start_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--shock", "BTCUSDT:-10"]) == 2
    assert capsys.readouterr().err.startswith("simulator: bad setting: --shock wants")
    assert main(["--symbols", "BTCUSDT", "--shock", "ETHUSDT:-10@1"]) == 2
    assert "not in --symbols" in capsys.readouterr().err
    assert main(["--reset-at", "-1"]) == 2
    assert "--reset-at" in capsys.readouterr().err


@pytest.mark.e2e
async def test_trades_and_candles_are_bounded_windows() -> None:
    config = make_config(
        history_minutes=1100, trade_rate=1.0, max_trades_per_symbol=1000, symbols=("BTCUSDT",),
        max_candles_per_symbol=1000,
    )  # fmt: skip
    async with Simulator(config) as sim:
        tape = sim.state.tape("BTCUSDT")
        assert 1000 <= len(tape.trades) <= 1100
        assert 1000 <= len(tape.candles) <= 1100
        client = make_client(sim)
        try:
            latest = await client.get_historical_trades(symbol="BTCUSDT", limit=1000)
            assert len(latest) == 1000
            ids = [t["id"] for t in latest]
            assert ids == list(range(ids[0], ids[0] + 1000))
            assert len(await client.get_klines(symbol="BTCUSDT", interval="1m", limit=1000)) == 1000
            agg = await client.get_aggregate_trades(symbol="BTCUSDT", limit=1000)
            assert agg[-1]["a"] >= ids[-1]
        finally:
            await client.close_connection()
        # Keep going: the windows stay bounded while the market runs on.
        sim.state.clock.start_ms += 600 * 60_000
        sim.state.advance()
        assert len(tape.trades) <= 1100 and len(tape.candles) <= 1100
