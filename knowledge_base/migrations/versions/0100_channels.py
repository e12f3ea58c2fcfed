"""Messaging channels: inbound de-duplication, the last buttons offered per sender, SMS opt-outs.

Revision ID: 0100
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_inbound",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
    )
    op.create_index("ix_channel_inbound_received_at", "channel_inbound", ["received_at"])
    op.create_table(
        "channel_buttons",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("sender_id", sa.String(128), primary_key=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "channel_optouts",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("sender_id", sa.String(128), primary_key=True),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_optouts")
    op.drop_table("channel_buttons")
    op.drop_index("ix_channel_inbound_received_at", table_name="channel_inbound")
    op.drop_table("channel_inbound")
