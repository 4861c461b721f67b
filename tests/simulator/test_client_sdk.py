"""Binance's official SDK (binance-sdk-spot) against the simulator: every trading call, its
response models filled (`.data()` validates the JSON against them), its error classes.
The SDK's REST client is synchronous: calls run in a thread beside the simulator's loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from binance_common import errors as sdk_errors
from binance_common.configuration import ConfigurationRestAPI, ConfigurationWebSocketAPI
from binance_sdk_spot.rest_api.models import enums
from binance_sdk_spot.spot import Spot
from binance_sdk_spot.websocket_api.models import enums as ws_enums

from simulator import Simulator
from tests.simulator.conftest import KEY, SECRET, make_config

pytestmark = pytest.mark.e2e
T = TypeVar("T")
TICK = Decimal("0.01")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # The SDK stamps requests with its own clock: a market clock at real speed, 2 s ahead
    # while the market is built (within the 5 s recvWindow after that).
    config = make_config(speed=1.0, start_ms=time.time_ns() // 1_000_000 + 2000)
    async with Simulator(config) as running:
        yield running


def _spot(sim: Simulator, secret: str = SECRET, key: str = KEY) -> Any:
    config = ConfigurationRestAPI(
        api_key=key, api_secret=secret, base_path=f"http://127.0.0.1:{sim.port}", retries=0
    )
    return Spot(config_rest_api=config).rest_api


async def _call(fn: Callable[..., T], **kw: Any) -> T:
    return await asyncio.to_thread(fn, **kw)


async def test_trading_calls_fill_the_sdk_models(sim: Simulator) -> None:
    api = _spot(sim)
    last = sim.state.tape("BTCUSDT").last_price
    market = (
        await _call(
            api.new_order,
            symbol="BTCUSDT",
            side=enums.NewOrderSideEnum.BUY,
            type=enums.NewOrderTypeEnum.MARKET,
            quantity=0.001,
        )
    ).data()
    assert market.status == "FILLED" and market.fills and market.fills[0].commission_asset == "BTC"
    price = float((last * Decimal("0.9")).quantize(Decimal("0.01")))
    limit = (
        await _call(
            api.new_order,
            symbol="BTCUSDT",
            side=enums.NewOrderSideEnum.BUY,
            type=enums.NewOrderTypeEnum.LIMIT,
            time_in_force=enums.NewOrderTimeInForceEnum.GTC,
            quantity=0.001,
            price=price,
        )
    ).data()
    assert limit.status == "NEW"
    stop = (
        await _call(
            api.new_order,
            symbol="BTCUSDT",
            side=enums.NewOrderSideEnum.SELL,
            type=enums.NewOrderTypeEnum.STOP_LOSS,
            quantity=0.001,
            stop_price=price,
        )
    ).data()
    got = (await _call(api.get_order, symbol="BTCUSDT", order_id=stop.order_id)).data()
    assert (got.type, got.stop_price, got.is_working) == ("STOP_LOSS", f"{price:.8f}", False)
    assert len((await _call(api.get_open_orders, symbol="BTCUSDT")).data()) == 2
    replaced = (
        await _call(
            api.order_cancel_replace,
            symbol="BTCUSDT",
            side=enums.OrderCancelReplaceSideEnum.BUY,
            type=enums.OrderCancelReplaceTypeEnum.LIMIT,
            cancel_replace_mode=enums.OrderCancelReplaceCancelReplaceModeEnum.STOP_ON_FAILURE,
            time_in_force=enums.OrderCancelReplaceTimeInForceEnum.GTC,
            quantity=0.002,
            price=price,
            cancel_order_id=limit.order_id,
        )
    ).data()
    assert replaced.cancel_result == "SUCCESS" and replaced.new_order_result == "SUCCESS"
    oco = (
        await _call(
            api.order_list_oco,
            symbol="BTCUSDT",
            side=enums.OrderListOcoSideEnum.SELL,
            quantity=0.001,
            above_type=enums.OrderListOcoAboveTypeEnum.LIMIT_MAKER,
            above_price=float((last * Decimal("1.05")).quantize(Decimal("0.01"))),
            below_type=enums.OrderListOcoBelowTypeEnum.STOP_LOSS,
            below_stop_price=float((last * Decimal("0.95")).quantize(Decimal("0.01"))),
        )
    ).data()
    assert oco.list_status_type == "EXEC_STARTED" and len(oco.order_reports or []) == 2
    listed = (await _call(api.get_order_list, order_list_id=oco.order_list_id)).data()
    assert listed.list_order_status == "EXECUTING"
    assert len((await _call(api.open_order_list)).data()) == 1
    assert len((await _call(api.all_order_list)).data()) == 1
    canceled = (
        await _call(api.delete_order_list, symbol="BTCUSDT", order_list_id=oco.order_list_id)
    ).data()
    assert canceled.list_order_status == "ALL_DONE"
    single = (await _call(api.delete_order, symbol="BTCUSDT", order_id=stop.order_id)).data()
    assert single.status == "CANCELED"
    everything = (await _call(api.delete_open_orders, symbol="BTCUSDT")).data()
    assert len(everything) == 1
    await _call(
        api.order_test,
        symbol="BTCUSDT",
        side=enums.OrderTestSideEnum.BUY,
        type=enums.OrderTestTypeEnum.MARKET,
        quantity=0.001,
    )
    rates = (
        await _call(
            api.order_test,
            symbol="BTCUSDT",
            side=enums.OrderTestSideEnum.BUY,
            type=enums.OrderTestTypeEnum.MARKET,
            quantity=0.001,
            compute_commission_rates=True,
        )
    ).data()
    assert rates.standard_commission_for_order.taker == "0.00100000"
    assert len((await _call(api.all_orders, symbol="BTCUSDT")).data()) == 6
    assert len((await _call(api.my_trades, symbol="BTCUSDT")).data()) == 1
    account = (await _call(api.get_account)).data()
    assert account.account_type == "SPOT"
    commission = (await _call(api.account_commission, symbol="BTCUSDT")).data()
    assert commission.standard_commission.taker == "0.00100000"
    counts = (await _call(api.rate_limit_order)).data()
    assert [c.interval for c in counts] == ["SECOND", "DAY"]


async def test_errors_are_the_sdk_error_classes(sim: Simulator) -> None:
    api = _spot(sim)
    with pytest.raises(sdk_errors.BadRequestError) as err:
        await _call(
            api.new_order,
            symbol="BTCUSDT",
            side=enums.NewOrderSideEnum.SELL,
            type=enums.NewOrderTypeEnum.MARKET,
            quantity=5,
        )
    assert "insufficient balance" in str(err.value)
    with pytest.raises(sdk_errors.BadRequestError) as err:
        await _call(
            api.new_order,
            symbol="BTCUSDT",
            side=enums.NewOrderSideEnum.BUY,
            type=enums.NewOrderTypeEnum.LIMIT,
            time_in_force=enums.NewOrderTimeInForceEnum.GTC,
            quantity=0.001,
            price=1_000_000.5,
        )
    assert "PRICE_FILTER" in str(err.value)
    with pytest.raises(sdk_errors.BadRequestError):
        await _call(api.get_order, symbol="BTCUSDT", order_id=42)
    with pytest.raises(sdk_errors.BadRequestError) as err:
        await _call(_spot(sim, secret="wrong").get_account)
    assert "Signature for this request is not valid" in str(err.value)
    with pytest.raises(sdk_errors.UnauthorizedError):
        await _call(_spot(sim, key="unknown").get_account)


async def test_websocket_api_user_data_of_a_stop_fill(sim: Simulator) -> None:
    config = ConfigurationWebSocketAPI(api_key=KEY, api_secret=SECRET, stream_url=sim.ws_api_url)
    ws: Any = Spot(config_ws_api=config).websocket_api
    await ws.create_connection()
    try:
        events: asyncio.Queue[Any] = asyncio.Queue()
        subscribed = await ws.user_data_stream_subscribe_signature()
        subscribed.stream.on("message", events.put_nowait)
        stop = float((sim.state.tape("BTCUSDT").last_price * Decimal("0.95")).quantize(TICK))
        placed = await ws.order_place(
            symbol="BTCUSDT",
            side=ws_enums.OrderPlaceSideEnum.SELL,
            type=ws_enums.OrderPlaceTypeEnum.STOP_LOSS,
            quantity=0.01,
            stop_price=stop,
        )
        assert placed.data().result.order_id > 0
        sim.controls.shock("BTCUSDT", Decimal(-10))
        reports: list[Any] = []
        while not reports or reports[-1].x != "TRADE":
            event = (await asyncio.wait_for(events.get(), 5)).actual_instance
            if type(event).__name__ == "ExecutionReport":
                reports.append(event)
        assert [(r.x, r.X) for r in reports] == [("NEW", "NEW"), ("TRADE", "FILLED")]
        assert reports[-1].z == "0.01000000" and reports[-1].o == "STOP_LOSS"
        status = await ws.order_status(symbol="BTCUSDT", order_id=reports[-1].i)
        assert status.data().result.status == "FILLED"
    finally:
        await ws.close_connection()
