"""Staff console: the live handoff desk (channel addresses for replies).

Revision ID: 0500
Revises: 0400
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0500"
down_revision = "0400"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the change that needs the tables


def downgrade() -> None:
    pass
