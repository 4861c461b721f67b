"""The ledger's tables (SQLAlchemy Core). Alembic's migrations build them; this is their shape.

`entries` is the ledger: one row per entry, in order (`seq`), with the entry's JSON line
(`execution.codec`, the same line `journal export` writes) and the columns people filter on.
`orders`, `signals`, `controls`, `resets` and `candles` repeat each entry's figures as typed,
indexed columns for queries with `sqlite3` or `psql` (docs/database.md). Money is `Money`:
NUMERIC in PostgreSQL, exact text in SQLite (whose NUMERIC would turn 0.1 into a float).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class Money(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC in PostgreSQL, its plain text in SQLite."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


# SQLite makes an INTEGER PRIMARY KEY the rowid; PostgreSQL wants 64 bits.
Seq = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

meta = Table(
    "ledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("variant", String(32)),
    Column("symbol", String(32)),
    Column("client_order_id", String(64)),
    Column("body", Text, nullable=False),
    # No secondary index: every commit of an order's intent would write its pages too, and
    # the queries read the typed tables' indexes (orders has client_order_id's).
)

orders = Table(
    "orders",
    metadata,
    Column("seq", Seq, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("client_order_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("variant", String(32), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("quantity", Money, nullable=False),
    Column("closing", Boolean, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("signal_time_ms", BigInteger, nullable=False),
    Column("exchange_order_id", BigInteger),
    Column("executed_qty", Money),
    Column("avg_price", Money),
    Column("quote_qty", Money),
    Column("commission", Money),
    Column("commission_asset", String(16)),
    Column("fill_time_ms", BigInteger),
    Column("realized_pnl", Money),
    Column("error_code", Integer),
    Column("error", Text),
    Index("ix_orders_client_order_id", "client_order_id"),
    Index("ix_orders_fills", "status", "variant", "symbol", "fill_time_ms"),
    Index("ix_orders_fill_time", "status", "fill_time_ms"),
    Index("ix_orders_status_seq", "status", "seq"),
    Index("ix_orders_status_variant_seq", "status", "variant", "seq"),
    Index("ix_orders_status_symbol_seq", "status", "symbol", "seq"),
)

signals = Table(
    "signals",
    metadata,
    Column("seq", Seq, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("variant", String(32), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("price", Money, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("action", Text, nullable=False),
    Index("ix_signals_variant_symbol_time", "variant", "symbol", "time_ms"),
    Index("ix_signals_time", "time_ms"),
    Index("ix_signals_variant_seq", "variant", "seq"),
    Index("ix_signals_symbol_seq", "symbol", "seq"),
)

controls = Table(
    "controls",
    metadata,
    Column("seq", Seq, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("variant", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("stop_loss", Money),
    Column("time_ms", BigInteger, nullable=False),
)

resets = Table(
    "resets",
    metadata,
    Column("seq", Seq, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
)

candles = Table(
    "candles",
    metadata,
    Column("seq", Seq, ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
    Column("symbol", String(32), nullable=False),
    Column("open_time", BigInteger, nullable=False),
    Column("open", Money, nullable=False),
    Column("high", Money, nullable=False),
    Column("low", Money, nullable=False),
    Column("close", Money, nullable=False),
    Column("volume", Money, nullable=False),
    Column("quote_volume", Money, nullable=False),
    Column("trades", BigInteger, nullable=False),
    Column("taker_buy_base", Money, nullable=False),
    Column("taker_buy_quote", Money, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Index("ix_candles_symbol_open_time", "symbol", "open_time"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),  # the last entry folded in
    Column("time_ms", BigInteger, nullable=False),  # the time of entry `seq`
    Column("fingerprint", String(64), nullable=False),  # execution.trading_state
    Column("body", Text, nullable=False),  # the trading state as JSON
)

equity = Table(
    "equity",
    metadata,
    Column("variant", String(32), primary_key=True),
    Column("time_ms", BigInteger, primary_key=True, autoincrement=False),
    Column("equity", Money, nullable=False),
    Column("seq", Seq, nullable=False),  # the entry (fill or candle close) that marked it
)

outbox = Table(
    "outbox",
    metadata,
    # One row per (event, channel), written in the transaction of the entry that caused it
    # (storage/outbox.py); the notifier delivers them at least once, with the event's id.
    Column("event_id", String(64), primary_key=True),  # stable: kind and the entry's seq
    Column("channel", String(255), primary_key=True),  # a webhook URL, or "telegram"
    Column("kind", String(32), nullable=False),
    Column("time_ms", BigInteger, nullable=False),  # the event's time (the service's clock)
    Column("created_ms", BigInteger, nullable=False),  # wall clock: its expiry counts from here
    Column("body", Text, nullable=False),  # the event as JSON
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_ms", BigInteger, nullable=False),  # wall clock: not before (retries back off)
    Column("state", String(16), nullable=False),  # pending | delivered | expired
    Column("error", Text),  # the last failure, for logs and /health
    Index("ix_outbox_state_due", "state", "due_ms"),
)
