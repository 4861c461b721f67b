"""Indexes for history pages: the newest rows of a kind first (keyset on seq), filtered.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_orders_status_seq": ("orders", ["status", "seq"]),
    "ix_orders_status_variant_seq": ("orders", ["status", "variant", "seq"]),
    "ix_orders_status_symbol_seq": ("orders", ["status", "symbol", "seq"]),
    "ix_signals_variant_seq": ("signals", ["variant", "seq"]),
    "ix_signals_symbol_seq": ("signals", ["symbol", "seq"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
