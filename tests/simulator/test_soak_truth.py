"""The soak's independent recomputation (bench/soak_truth.py) against a real simulator: the
holding and mark-to-market it derives from allOrders/myTrades equal the account's own balance
changes, and orders the journal does not know are counted."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson

from bench.soak_truth import JournalView, Snapshot, floor_step, recompute
from simulator import Simulator
from tests.simulator.conftest import make_client, make_config


def balances(account: dict[str, object]) -> dict[str, Decimal]:
    rows = account["balances"]
    assert isinstance(rows, list)
    return {r["asset"]: Decimal(r["free"]) + Decimal(r["locked"]) for r in rows}


async def test_books_match_the_account_and_unknown_fills_are_counted(tmp_path: Path) -> None:
    async with Simulator(make_config(symbols=("BTCUSDT",))) as sim:
        client = make_client(sim)
        try:
            before = balances(await client.get_account())
            done = []
            for n, (side, qty) in enumerate(
                [("BUY", "0.003"), ("SELL", "0.001"), ("BUY", "0.002")]
            ):
                cid = f"A-soak-{n}"
                done.append(
                    await client.create_order(
                        symbol="BTCUSDT",
                        side=side,
                        type="MARKET",
                        quantity=qty,
                        newClientOrderId=cid,
                    )
                )
            stray = await client.create_order(
                symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001",
                newClientOrderId="nobody-1",
            )  # fmt: skip
            after = balances(await client.get_account())
            snap = await Snapshot.take(client, ("BTCUSDT",))
            last = Decimal((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
        finally:
            await client.close_connection()
    journal_path = tmp_path / "journal.jsonl"
    lines = []
    for order in done:
        cid = order["clientOrderId"]
        lines.append({"type": "intent", "client_order_id": cid, "variant": "A", "ref": cid,
                      "symbol": "BTCUSDT", "side": order["side"], "reason": "signal"})  # fmt: skip
        if cid != "A-soak-2":  # the last fill never reached this journal
            lines.append({"type": "filled", "client_order_id": cid, "variant": "A",
                          "executed_qty": order["executedQty"],
                          "quote_qty": order["cummulativeQuoteQty"]})  # fmt: skip
    journal_path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    truth = recompute([snap], JournalView.read(journal_path))

    book = truth.whole[("A", "BTCUSDT")]
    stray_qty = Decimal(stray["executedQty"])
    stray_quote = Decimal(stray["cummulativeQuoteQty"])
    stray_fee = sum(Decimal(f["commission"]) for f in stray["fills"])
    # What the variant's fills did to the account, the stray order taken out again.
    btc = after["BTC"] - before["BTC"] - (stray_qty - stray_fee)
    usdt = after["USDT"] - before["USDT"] + stray_quote
    assert book.held == btc
    assert book.mtm(last) == usdt + btc * last
    assert truth.orders[("A", "BTCUSDT")] == 3 and truth.orders[("?", "BTCUSDT")] == 1
    assert truth.unjournaled_fills[("A", "BTCUSDT")] == 1
    assert truth.unjournaled_fills[("?", "BTCUSDT")] == 1
    assert sum(truth.duplicate_ids.values()) == sum(truth.duplicate_intents.values()) == 0
    assert floor_step(Decimal("0.0039969"), Decimal("0.00001")) == Decimal("0.00399")
