"""The ledger: entries in order, typed orders, signals, controls and resets, and its meta.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema import Money, Seq

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _seq_fk() -> sa.Column[int]:
    return sa.Column(
        "seq", Seq, sa.ForeignKey("entries.seq"), primary_key=True, autoincrement=False
    )


def upgrade() -> None:
    op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("variant", sa.String(32)),
        sa.Column("symbol", sa.String(32)),
        sa.Column("client_order_id", sa.String(64)),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_entries_kind_seq", "entries", ["kind", "seq"])
    op.create_index("ix_entries_client_order_id", "entries", ["client_order_id"])
    op.create_table(
        "orders",
        _seq_fk(),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("variant", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("quantity", Money, nullable=False),
        sa.Column("closing", sa.Boolean, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("signal_time_ms", sa.BigInteger, nullable=False),
        sa.Column("exchange_order_id", sa.BigInteger),
        sa.Column("executed_qty", Money),
        sa.Column("avg_price", Money),
        sa.Column("quote_qty", Money),
        sa.Column("commission", Money),
        sa.Column("commission_asset", sa.String(16)),
        sa.Column("fill_time_ms", sa.BigInteger),
        sa.Column("realized_pnl", Money),
        sa.Column("error_code", sa.Integer),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_orders_client_order_id", "orders", ["client_order_id"])
    op.create_index("ix_orders_fills", "orders", ["status", "variant", "symbol", "fill_time_ms"])
    op.create_index("ix_orders_fill_time", "orders", ["status", "fill_time_ms"])
    op.create_table(
        "signals",
        _seq_fk(),
        sa.Column("variant", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("price", Money, nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
    )
    op.create_index("ix_signals_variant_symbol_time", "signals", ["variant", "symbol", "time_ms"])
    op.create_index("ix_signals_time", "signals", ["time_ms"])
    op.create_table(
        "controls",
        _seq_fk(),
        sa.Column("variant", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("stop_loss", Money),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "resets",
        _seq_fk(),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("resets", "controls", "signals", "orders", "entries", "ledger_meta"):
        op.drop_table(table)
