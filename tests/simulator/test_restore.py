"""A restored account answers as the one it goes on from: orders run on a first simulator
through python-binance are handed, as plain data, to a second one (as `--simulate` does on a
restart); the second answers get_order / allOrders / myTrades and the account like the first,
its restored stop still triggers, and new orders are numbered above the restored ones."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from binance import AsyncClient

from simulator import RestoredOrder, Simulator
from tests.simulator.conftest import make_client, make_config

ORDER_FIELDS = (
    "orderId", "clientOrderId", "status", "side", "type", "origQty", "executedQty",
    "cummulativeQuoteQty", "stopPrice", "isWorking",
)  # fmt: skip


async def _first_run(client: AsyncClient) -> list[RestoredOrder]:
    """A buy, a sell and a resting stop; each as the journal keeps it (from the answers)."""
    kept: list[RestoredOrder] = []
    for side, cid, qty in (("BUY", "t-buy-1", "0.02"), ("SELL", "t-sell-1", "0.005")):
        answer = await client.create_order(
            symbol="BTCUSDT", side=side, type="MARKET", quantity=qty, newClientOrderId=cid
        )
        fill = answer["fills"][0]  # every fill of a MARKET order pays in the same asset
        commission = sum((Decimal(f["commission"]) for f in answer["fills"]), Decimal(0))
        kept.append(
            RestoredOrder(
                symbol="BTCUSDT",
                side=side,
                client_order_id=cid,
                quantity=Decimal(qty),
                time_ms=answer["transactTime"],
                executed_qty=Decimal(answer["executedQty"]),
                quote_qty=Decimal(answer["cummulativeQuoteQty"]),
                commission=commission,
                commission_asset=fill["commissionAsset"],
                order_id=answer["orderId"],
            )
        )
    last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
    stop = (last * Decimal("0.97")).quantize(Decimal("0.01"))
    answer = await client.create_order(
        symbol="BTCUSDT", side="SELL", type="STOP_LOSS", quantity="0.01",
        stopPrice=str(stop), newClientOrderId="t-stop-1",
    )  # fmt: skip
    kept.append(
        RestoredOrder(
            symbol="BTCUSDT",
            side="SELL",
            client_order_id="t-stop-1",
            quantity=Decimal("0.01"),
            time_ms=answer["transactTime"],
            type="STOP_LOSS",
            status="NEW",
            order_id=answer["orderId"],
            stop_price=stop,
        )
    )
    return kept


def _balances(account: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in account["balances"]}


async def _snapshot(client: AsyncClient) -> dict[str, Any]:
    orders = await client.get_all_orders(symbol="BTCUSDT")
    one = await client.get_order(symbol="BTCUSDT", origClientOrderId="t-buy-1")
    return {
        "balances": _balances(await client.get_account()),
        "orders": [{k: o[k] for k in ORDER_FIELDS} for o in orders],
        "one": {k: one[k] for k in ORDER_FIELDS},
        "trades": [
            (t["orderId"], t["qty"], t["quoteQty"], t["commission"], t["commissionAsset"])
            for t in await client.get_my_trades(symbol="BTCUSDT")
        ],
    }


def _per_order(trades: list[tuple[Any, ...]]) -> dict[int, tuple[Decimal, Decimal, Decimal, str]]:
    out: dict[int, tuple[Decimal, Decimal, Decimal, str]] = {}
    for order_id, qty, quote, fee, asset in trades:
        q, qq, f, _ = out.get(order_id, (Decimal(0), Decimal(0), Decimal(0), asset))
        out[order_id] = (q + Decimal(qty), qq + Decimal(quote), f + Decimal(fee), asset)
    return out


async def test_a_restored_account_answers_like_the_one_it_goes_on_from() -> None:
    config = make_config()
    async with Simulator(config) as first:
        client = make_client(first)
        try:
            kept = await _first_run(client)
            before = await _snapshot(client)
        finally:
            await client.close_connection()

    async with Simulator(replace(config, restore=tuple(kept))) as second:
        client = make_client(second)
        try:
            after = await _snapshot(client)
            # The journal's fills moved the balances exactly as the first run's did.
            assert after["balances"] == before["balances"]
            usdt, btc = after["balances"]["USDT"], after["balances"]["BTC"]
            bought, sold = kept[0], kept[1]
            assert btc == (
                Decimal(1) + bought.executed_qty - bought.commission - sold.executed_qty
                - Decimal("0.01"),
                Decimal("0.01"),  # the resting stop's base stays locked
            )  # fmt: skip
            assert usdt[0] == Decimal(10000) - bought.quote_qty + sold.quote_qty - sold.commission
            # Order look-ups by client id and the order list answer as before.
            assert after["one"] == before["one"]
            assert after["orders"] == before["orders"]
            # A restored order is one trade (the journal keeps an order's totals, not each
            # level it took from the book): per order, the same quantity, quote and fees.
            assert _per_order(after["trades"]) == _per_order(before["trades"])
            # New orders are numbered above the restored ones.
            new = await client.create_order(
                symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001"
            )
            assert new["orderId"] > max(o.order_id or 0 for o in kept)
            # The restored stop still triggers: a 5 % drop sells its locked base.
            second.state.shock("BTCUSDT", Decimal("-5"))
            stop = await client.get_order(symbol="BTCUSDT", origClientOrderId="t-stop-1")
            assert (stop["status"], stop["executedQty"]) == ("FILLED", "0.01000000")
            assert _balances(await client.get_account())["BTC"][1] == 0
        finally:
            await client.close_connection()


async def test_an_unknown_client_id_is_still_absent_after_a_restore() -> None:
    kept = RestoredOrder(
        symbol="ETHUSDT", side="BUY", client_order_id="t-eth", quantity=Decimal("0.1"),
        time_ms=1, executed_qty=Decimal("0.1"), quote_qty=Decimal("300"),
        commission=Decimal("0.0001"), commission_asset="ETH", order_id=42,
    )  # fmt: skip
    async with Simulator(make_config(restore=(kept,))) as sim:
        client = make_client(sim)
        try:
            found = await client.get_order(symbol="ETHUSDT", origClientOrderId="t-eth")
            assert (found["orderId"], found["status"]) == (42, "FILLED")
            with pytest.raises(Exception, match="-2013"):
                await client.get_order(symbol="ETHUSDT", origClientOrderId="never-sent")
        finally:
            await client.close_connection()


def test_orders_that_the_balances_cannot_hold_are_refused_whole() -> None:
    too_much = RestoredOrder(
        symbol="BTCUSDT", side="SELL", client_order_id="t-sell", quantity=Decimal("5"),
        time_ms=1, executed_qty=Decimal("5"), quote_qty=Decimal("300000"),
    )  # fmt: skip
    with pytest.raises(ValueError, match="BTC -4"):
        Simulator(make_config(restore=(too_much,)))


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "NEW"},  # a MARKET order does not rest
        {"executed_qty": Decimal(0)},  # a fill without quantity
        {"type": "STOP_LOSS"},  # without its stopPrice
        {"status": "PARTIALLY_FILLED"},
    ],
)
def test_a_malformed_restored_order_is_refused(bad: dict[str, Any]) -> None:
    values: dict[str, Any] = {
        "symbol": "BTCUSDT", "side": "BUY", "client_order_id": "x", "quantity": Decimal(1),
        "time_ms": 1, "executed_qty": Decimal(1), "quote_qty": Decimal(10),
    }  # fmt: skip
    with pytest.raises(ValueError, match="restored order 'x'"):
        RestoredOrder(**{**values, **bad})
