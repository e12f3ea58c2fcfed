"""Dialogue: the masked conversation log, the human handoff queue, feedback and ratings.

Revision ID: 0200
Revises: 0100
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200"
down_revision = "0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("answer_kind", sa.String(32), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(40), nullable=False),
    )
    op.create_index("ix_conversation_turns_conversation", "conversation_turns", ["conversation_id", "id"])
    op.create_index("ix_conversation_turns_at", "conversation_turns", ["at"])
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_handoffs_conversation_status", "handoffs", ["conversation_id", "status"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(40), nullable=False),
    )
    op.create_index("ix_feedback_at", "feedback", ["at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_handoffs_conversation_status", table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_index("ix_conversation_turns_at", table_name="conversation_turns")
    op.drop_index("ix_conversation_turns_conversation", table_name="conversation_turns")
    op.drop_table("conversation_turns")
