"""What a restarted `--simulate` hands its new simulator from the journal (wiring.sim_memory):
the filled orders and the stops still resting, after the last reset, of mode `simulated`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from execution.journal import read_journal
from simulator import RestoredOrder
from wiring.sim_memory import exchange_memory

SYMBOLS = ("BTCUSDT", "ETHUSDT")
SIGNAL_LINE = {
    "type": "signal", "variant": "A", "symbol": "BTCUSDT", "side": "BUY", "reason": "signal",
    "price": "1", "time": 2_500, "ref": 0, "strength": None, "ema": None, "sma": None,
    "action": "none",
}  # fmt: skip


def _line(kind: str, cid: str, side: str = "BUY", **extra: Any) -> dict[str, Any]:
    """One journal line, in the shape the service writes (see data/simulated.jsonl)."""
    line: dict[str, Any] = {
        "type": kind, "client_order_id": cid, "variant": "A", "symbol": "BTCUSDT",
        "side": side, "quantity": "0.001", "reason": "signal", "mode": "simulated",
        "signal_time": 1_000, "time": extra.pop("time", 2_000), "closing": side == "SELL",
        "ref": 0, "price_hint": None,
    }  # fmt: skip
    if kind == "filled":
        line |= {
            "exchange_order_id": extra.pop("oid", 7_000_000), "executed_qty": "0.00100000",
            "avg_price": "64210.62", "quote_qty": "64.21062000", "commission": "0.00000100",
            "commission_asset": "BTC" if side == "BUY" else "USDT", "fill_time": 1_900,
            "realized_pnl": None,
        }  # fmt: skip
    return line | extra


def _stop(kind: str, cid: str, **extra: Any) -> dict[str, Any]:
    stop = {"order_type": "STOP_LOSS", "stop_price": "54579.02", "reason": "stop_loss"}
    return _line(kind, cid, "SELL", **stop, **extra)


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_fills_and_resting_stops_are_what_the_exchange_remembers(tmp_path: Path) -> None:
    journal = _write(
        tmp_path / "j.jsonl",
        [
            _line("intent", "buy-1"),
            _line("filled", "buy-1", oid=7_000_000, time=2_000),
            _stop("intent", "stop-1", time=2_100),
            _stop("open", "stop-1", time=2_200, exchange_order_id=7_000_001),
            _stop("intent", "stop-0", time=2_050),
            _stop("open", "stop-0", time=2_060, exchange_order_id=6_999_999),
            _stop("canceled", "stop-0", time=2_070, exchange_order_id=6_999_999),
            _line("intent", "lost-1", time=2_300),  # killed before its outcome
            _line("intent", "no-1", time=2_400),
            _line("rejected", "no-1", time=2_410, code=-2010, error="insufficient balance"),
            SIGNAL_LINE,
        ],
    )
    restored = exchange_memory(read_journal(journal)[0], SYMBOLS)

    assert [(r.client_order_id, r.status, r.order_id) for r in restored] == [
        ("buy-1", "FILLED", 7_000_000),
        ("stop-1", "NEW", 7_000_001),
    ]
    buy, stop = restored
    assert buy == RestoredOrder(
        symbol="BTCUSDT", side="BUY", client_order_id="buy-1", quantity=Decimal("0.001"),
        time_ms=1_900, executed_qty=Decimal("0.001"), quote_qty=Decimal("64.21062"),
        commission=Decimal("0.000001"), commission_asset="BTC", order_id=7_000_000,
    )  # fmt: skip
    assert (stop.type, stop.side, stop.stop_price) == ("STOP_LOSS", "SELL", Decimal("54579.02"))


def test_a_filled_stop_rests_no_more_and_a_reset_forgets_what_came_before(
    tmp_path: Path,
) -> None:
    journal = _write(
        tmp_path / "j.jsonl",
        [
            _line("filled", "old-buy", oid=1),
            {"type": "reset", "time": 3_000, "detail": "the testnet was wiped"},
            _line("filled", "buy-2", oid=7_000_005, time=4_000, fill_time=4_000),
            _stop("open", "stop-2", time=4_100, exchange_order_id=7_000_006),
            _stop("filled", "stop-2", oid=7_000_006, time=4_200, fill_time=4_150),
            _line("filled", "paper-1", time=4_300, fill_time=4_300, mode="paper"),
            _line("filled", "sol-1", time=4_400, fill_time=4_400, symbol="SOLUSDT"),
        ],
    )
    restored = exchange_memory(read_journal(journal)[0], SYMBOLS)

    assert [(r.client_order_id, r.type, r.side, r.status) for r in restored] == [
        ("buy-2", "MARKET", "BUY", "FILLED"),
        ("stop-2", "STOP_LOSS", "SELL", "FILLED"),
    ]
