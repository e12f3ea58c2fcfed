"""The conversation tables (created by Alembic revision 0200_dialogue; kept in step with it)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
turns = sa.Table(
    "conversation_turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(64), nullable=False),
    sa.Column("answer_kind", sa.String(32), nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("region", sa.String(40), nullable=False),
)
handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
)
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("region", sa.String(40), nullable=False),
)
