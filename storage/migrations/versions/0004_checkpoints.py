"""Checkpoints of the trading state (the start folds only the entries after the newest), the
equity marks they fold (for history pages), and no secondary index on `entries`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema import Money, Seq

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The entries' own secondary indexes: no query reads them (the typed tables' indexes
    # answer), and each commit on the order path wrote their pages too.
    op.drop_index("ix_entries_kind_seq", table_name="entries")
    op.drop_index("ix_entries_client_order_id", table_name="entries")
    op.create_table(
        "checkpoints",
        sa.Column("seq", Seq, primary_key=True, autoincrement=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_table(
        "equity",
        sa.Column("variant", sa.String(32), primary_key=True),
        sa.Column("time_ms", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("equity", Money, nullable=False),
        sa.Column("seq", Seq, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("equity")
    op.drop_table("checkpoints")
    op.create_index("ix_entries_kind_seq", "entries", ["kind", "seq"])
    op.create_index("ix_entries_client_order_id", "entries", ["client_order_id"])
