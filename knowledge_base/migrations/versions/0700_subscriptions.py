"""Policy subscriptions (信息定制): who subscribed to what, what was pushed, and the change-log cursor.

Revision ID: 0700
Revises: 0600
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0700"
down_revision = "0600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(160), nullable=False, unique=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("taxpayer_types", sa.Text(), nullable=False),  # JSON list
        sa.Column("tax_types", sa.Text(), nullable=False),  # JSON list
        sa.Column("region", sa.String(40), nullable=False),  # "全国" = national items only
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subscriptions_active", "subscriptions", ["active"])
    op.create_table(
        "subscription_pushes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("item_kind", sa.String(10), nullable=False),  # doc / faq
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("item_version", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),  # pending / delivered / failed / skipped_*
        sa.Column("detail", sa.Text(), nullable=False),
        # two app replicas following the same change log never push an item twice to one subscriber
        sa.UniqueConstraint("subscription_id", "item_kind", "item_key", "item_version", name="uq_push_once"),
    )
    op.create_index("ix_subscription_pushes_sub_at", "subscription_pushes", ["subscription_id", "pushed_at"])
    op.create_index("ix_subscription_pushes_at", "subscription_pushes", ["pushed_at"])
    op.create_table(
        "subscription_cursor",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),  # the knowledge store's changes.seq handled up to
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("subscription_cursor")
    op.drop_index("ix_subscription_pushes_at", table_name="subscription_pushes")
    op.drop_index("ix_subscription_pushes_sub_at", table_name="subscription_pushes")
    op.drop_table("subscription_pushes")
    op.drop_index("ix_subscriptions_active", table_name="subscriptions")
    op.drop_table("subscriptions")
