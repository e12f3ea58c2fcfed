"""Channels: the rest of the last shortened answer per sender, for "全文" (channels.store.full_answers).

Revision ID: 0400
Revises: 0300
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400"
down_revision = "0300"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_full_answers",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("sender_id", sa.String(128), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_full_answers")
