"""Closed 1-minute candles: the chart's history, and the closes figures are marked at.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema import Money, Seq

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candles",
        sa.Column("seq", Seq, sa.ForeignKey("entries.seq"), primary_key=True, autoincrement=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("open_time", sa.BigInteger, nullable=False),
        sa.Column("open", Money, nullable=False),
        sa.Column("high", Money, nullable=False),
        sa.Column("low", Money, nullable=False),
        sa.Column("close", Money, nullable=False),
        sa.Column("volume", Money, nullable=False),
        sa.Column("quote_volume", Money, nullable=False),
        sa.Column("trades", sa.BigInteger, nullable=False),
        sa.Column("taker_buy_base", Money, nullable=False),
        sa.Column("taker_buy_quote", Money, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_index("ix_candles_symbol_open_time", "candles", ["symbol", "open_time"])


def downgrade() -> None:
    op.drop_table("candles")
