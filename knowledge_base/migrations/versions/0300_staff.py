"""Staff console: users, sessions, API tokens, the staff audit log, FAQ reviews, pending uploads.

Revision ID: 0300
Revises: 0200
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300"
down_revision = "0200"
branch_labels = None
depends_on = None

_tz = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _tz, nullable=False),
    )
    for name, key in (("staff_sessions", "id_hash"), ("staff_tokens", "token_hash")):
        extra = [sa.Column("csrf_token", sa.String(64), nullable=False)] if name == "staff_sessions" else []
        op.create_table(
            name,
            sa.Column(key, sa.String(64), primary_key=True),
            sa.Column(
                "user_id", sa.Integer(), sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False
            ),
            *extra,
            sa.Column("created_at", _tz, nullable=False),
            sa.Column("expires_at", _tz, nullable=False),
        )
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", _tz, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("before", sa.String(64), nullable=False),
        sa.Column("after", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_staff_audit_at", "staff_audit", ["at"])
    op.create_table(
        "staff_faq_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("faq_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("at", _tz, nullable=False),
    )
    op.create_index("ix_staff_faq_reviews_faq", "staff_faq_reviews", ["faq_id", "version"])
    op.create_table(
        "staff_uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("at", _tz, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_uploads")
    op.drop_index("ix_staff_faq_reviews_faq", table_name="staff_faq_reviews")
    op.drop_table("staff_faq_reviews")
    op.drop_index("ix_staff_audit_at", table_name="staff_audit")
    op.drop_table("staff_audit")
    op.drop_table("staff_tokens")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
