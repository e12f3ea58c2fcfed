"""Channels: messages accepted while the dialogue engine was down.

Revision ID: 0600
Revises: 0500
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0600"
down_revision = "0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the change that needs the tables


def downgrade() -> None:
    pass
