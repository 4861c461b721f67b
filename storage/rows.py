"""Entries to table rows: the ledger row (with the entry's JSON line) and its typed row."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Table

from execution.codec import CandleNote, Entry, ExchangeReset, SignalNote, VariantControl, encode
from execution.models import OrderRecord
from storage import schema


def entry_row(seq: int, entry: Entry) -> dict[str, Any]:
    """The `entries` row: kind, time, who, and the JSON line (execution.codec)."""
    body = encode(entry)
    return {
        "seq": seq,
        "kind": body["type"],
        "time_ms": body["time"],
        "variant": body.get("variant"),
        "symbol": body.get("symbol"),
        "client_order_id": body.get("client_order_id"),
        "body": orjson.dumps(body).decode(),
    }


def typed_row(seq: int, entry: Entry) -> tuple[Table, dict[str, Any]]:
    """The entry's figures as typed columns, and the table they go to."""
    if isinstance(entry, OrderRecord):
        filled = entry.filled
        return schema.orders, {
            "seq": seq, "client_order_id": entry.client_order_id,
            "status": entry.status.value, "variant": entry.variant, "symbol": entry.symbol,
            "side": entry.side.value, "order_type": entry.order_type,
            "reason": entry.reason.value, "mode": entry.mode, "quantity": entry.quantity,
            "closing": entry.closing, "time_ms": entry.time_ms,
            "signal_time_ms": entry.signal_time_ms,
            "exchange_order_id": entry.exchange_order_id,
            "executed_qty": entry.executed_qty if filled else None,
            "avg_price": entry.avg_price if filled else None,
            "quote_qty": entry.quote_qty if filled else None,
            "commission": entry.commission if filled else None,
            "commission_asset": entry.commission_asset if filled else None,
            "fill_time_ms": entry.fill_time_ms if filled else None,
            "realized_pnl": entry.realized_pnl if filled else None,
            "error_code": entry.error_code, "error": entry.error,
        }  # fmt: skip
    if isinstance(entry, SignalNote):
        s = entry.signal
        return schema.signals, {
            "seq": seq, "variant": s.variant, "symbol": s.symbol, "side": s.side.value,
            "reason": s.reason.value, "price": s.price, "time_ms": s.time_ms,
            "action": s.action,
        }  # fmt: skip
    if isinstance(entry, CandleNote):
        c = entry.candle
        return schema.candles, {
            "seq": seq, "symbol": c.symbol, "open_time": c.open_time, "open": c.open,
            "high": c.high, "low": c.low, "close": c.close, "volume": c.volume,
            "quote_volume": c.quote_volume, "trades": c.trades,
            "taker_buy_base": c.taker_buy_base, "taker_buy_quote": c.taker_buy_quote,
            "complete": c.complete, "source": c.source.value,
        }  # fmt: skip
    if isinstance(entry, VariantControl):
        return schema.controls, {
            "seq": seq, "variant": entry.variant, "action": entry.action,
            "reason": entry.reason, "stop_loss": entry.stop_loss, "time_ms": entry.time_ms,
        }  # fmt: skip
    assert isinstance(entry, ExchangeReset)
    return schema.resets, {"seq": seq, "time_ms": entry.time_ms, "detail": entry.detail}


def rows_by_table(numbered: list[tuple[int, Entry]]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """Every row for `numbered` entries, grouped by table, `entries` first (the foreign key)."""
    return [(schema.entries, [entry_row(seq, e) for seq, e in numbered]), *typed_rows(numbered)]


def typed_rows(numbered: list[tuple[int, Entry]]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The typed tables' rows for `numbered` entries (one row each), grouped by table."""
    tables: dict[str, tuple[Table, list[dict[str, Any]]]] = {}
    for seq, entry in numbered:
        table, row = typed_row(seq, entry)
        tables.setdefault(table.name, (table, []))[1].append(row)
    return list(tables.values())


TYPED_TABLES = (schema.orders, schema.signals, schema.controls, schema.resets, schema.candles)
