"""Staff console: the live handoff desk — where a staff reply to a conversation goes (channel addresses).

``channel_addresses``: conversation id → channel and address, for conversations whose id does not carry
the address itself: an SMS conversation is ``sms-<pseudonym>``, so the number behind it is kept here
(``via`` = the gateway it came through, tencent or twilio). Written when an SMS arrives; read only to
deliver (``taxbot.delivery``), never shown to staff.

Revision ID: 0500
Revises: 0400
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0500"
down_revision = "0400"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_addresses",
        sa.Column("conversation_id", sa.String(128), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_addresses")
