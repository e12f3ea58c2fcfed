"""Policy subscriptions (信息定制).

Revision ID: 0700
Revises: 0600
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0700"
down_revision = "0600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the change that needs the tables


def downgrade() -> None:
    pass
