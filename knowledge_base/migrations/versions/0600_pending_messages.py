"""Channels: messages accepted while the dialogue engine was down (``pending_messages``).

A taxpayer's message (masked) waits here for the replay worker (``taxbot.conversations.replay``): answered
through the usual dialogue path once Rasa is back, in order per conversation, or marked failed after a few
attempts (the taxpayer is then told to call 12366). ``lease_owner``/``lease_until``: the app replica
replaying it; an expired lease (a replica that died mid-replay) lets another one take it over.

Revision ID: 0600
Revises: 0500
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0600"
down_revision = "0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_pending_messages_status_conversation", "pending_messages", ["status", "conversation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_pending_messages_status_conversation", table_name="pending_messages")
    op.drop_table("pending_messages")
