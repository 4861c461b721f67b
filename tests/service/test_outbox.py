"""The outbox's pieces: events from ledger entries, levels, and the webhook signature checked
against the Standard Webhooks specification's own example."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from core.events import parse_levels
from execution.codec import ExchangeReset, VariantControl
from execution.models import OrderRecord, OrderStatus
from service.notifier import describe, sign, text_of
from storage.outbox import OutboxPolicy, events_of
from strategy.models import Side, SignalReason


def test_the_signature_is_standard_webhooks() -> None:
    # The example of https://github.com/standard-webhooks/standard-webhooks (spec/
    # standard-webhooks.md, "Signature scheme"), reproduced by its reference libraries' tests.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _order(status: OrderStatus, side: Side = Side.SELL, **over: object) -> OrderRecord:
    base: dict[str, object] = dict(
        status=status, client_order_id="A-BTCUSDT-x1", variant="A", symbol="BTCUSDT", side=side,
        quantity=Decimal("0.001"), reason=SignalReason.STOP_LOSS, mode="simulated",
        signal_time_ms=1_000, time_ms=2_000,
    )  # fmt: skip
    base.update(over)
    return OrderRecord(**base)  # type: ignore[arg-type]


def test_events_of_entries() -> None:
    fill = _order(OrderStatus.FILLED, executed_qty=Decimal("0.001"), avg_price=Decimal("65000"),
                  realized_pnl=Decimal("-1.5"), fill_time_ms=2_500)  # fmt: skip
    (event,) = events_of(7, fill)
    assert (event.id, event.kind, event.time_ms) == ("fill-7", "fill", 2_500)
    assert event.data["entry"] is False and event.data["pnl"] == "-1.5"
    assert event.data["reason"] == "stop_loss" and event.data["price"] == "65000"
    (refused,) = events_of(8, _order(OrderStatus.REJECTED, error="max position", error_code=None))
    assert refused.id == "rejected-8" and refused.data["error"] == "max position"
    assert events_of(9, _order(OrderStatus.INTENT)) == []
    (control,) = events_of(10, VariantControl(3_000, "B", "pause", "news"))
    assert control.kind == "variant" and control.data["action"] == "pause"
    (reset,) = events_of(11, ExchangeReset(4_000, "orders unknown"))
    assert reset.id == "reset-11"


def test_levels_and_channels_decide_the_rows() -> None:
    levels = parse_levels("rejected=silent,reset=off")
    policy = OutboxPolicy(("http://127.0.0.1:9/hook", "telegram"), levels, lambda: 123)
    rows = policy.rows([
        (1, _order(OrderStatus.REJECTED, error="x")),
        (2, ExchangeReset(4_000, "gone")),
        (3, VariantControl(3_000, "B", "resume")),
    ])  # fmt: skip
    assert [(r["event_id"], r["channel"]) for r in rows] == [
        ("rejected-1", "http://127.0.0.1:9/hook"), ("rejected-1", "telegram"),
        ("variant-3", "http://127.0.0.1:9/hook"), ("variant-3", "telegram"),
    ]  # fmt: skip
    assert orjson.loads(rows[0]["body"])["silent"] is True
    assert orjson.loads(rows[2]["body"])["silent"] is False
    assert all(r["created_ms"] == 123 and r["state"] == "pending" for r in rows)
    assert OutboxPolicy(()).rows([(1, ExchangeReset(1, "x"))]) == []


@pytest.mark.parametrize("text", ["fill=loud", "trade=on", "fill"])
def test_bad_levels_name_the_part(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text)):
        parse_levels(text)


def test_what_a_person_and_a_log_read() -> None:
    fill = _order(OrderStatus.FILLED, executed_qty=Decimal("0.001"), avg_price=Decimal("65000"),
                  realized_pnl=Decimal("-1.5"))  # fmt: skip
    (event,) = events_of(1, fill)
    assert text_of(event.body()) == "A sold 0.001 BTCUSDT at 65000 (stop_loss, P&L -1.5)"
    # Amounts read as every surface shows them (8 places), percentages as sent (2 places).
    fill = _order(OrderStatus.FILLED, executed_qty=Decimal("0.001"), avg_price=Decimal("65000"),
                  realized_pnl=Decimal("-19.1271724500000000000000"))  # fmt: skip
    (event,) = events_of(2, fill)
    assert text_of(event.body()).endswith("(stop_loss, P&L -19.12717245)")
    daily = {"type": "daily", "data": {"date": "2026-12-07", "variants": [{
        "variant": "B", "pnl": "-19.12717245", "return_pct": "-1.91", "max_drawdown_pct": "2.39",
        "trades": 176, "win_rate": 0.35, "fees": "16.92442176", "day_realized_pnl": "-14.50000000",
    }]}}  # fmt: skip
    assert text_of(daily).split("\n")[1] == (
        "B: P&L -19.12717245, return -1.91 %, max DD 2.39 %, 176 trades, win 35%,"
        " fees 16.92442176, day -14.5"
    )
    assert describe("https://hooks.example/abc?key=SECRET") == "webhook https://hooks.example"
