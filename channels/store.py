"""What the channels must remember across requests and restarts (SQLAlchemy Core, Alembic revision 0100).

* ``channel_inbound``: one row per (channel, message id) — the dedup key — with the answer given, so a
  platform's retry gets the same answer (or an empty success) and never a second dialogue turn;
* ``channel_buttons``: the options last offered to a sender, to map a later "2" back to its payload;
* ``channel_optouts``: senders who unsubscribed (SMS 退订) and must not be messaged until they write again;
* ``channel_full_answers`` (revision 0400): the rest of the last answer that was shortened for a sender,
  sent when the sender replies "全文" (no dialogue turn).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from channels.base import Button
from knowledge_base import migrations

metadata = sa.MetaData()

inbound = sa.Table(
    "channel_inbound",
    metadata,
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reply", sa.Text, nullable=True),
)
buttons = sa.Table(
    "channel_buttons",
    metadata,
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("sender_id", sa.String(128), primary_key=True),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
)
optouts = sa.Table(
    "channel_optouts",
    metadata,
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("sender_id", sa.String(128), primary_key=True),
    sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
)

full_answers = sa.Table(
    "channel_full_answers",
    metadata,
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("sender_id", sa.String(128), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)

PROCESSING = "processing"
REPLIED = "replied"  # answered in the HTTP response; ``reply`` holds it
PUSHED = "pushed"  # answered later through a send API
DONE = "done"  # nothing to say (unsubscribe, opt-out confirmed)
FAILED = "failed"


@dataclass(frozen=True)
class Seen:
    """A message met before: how it was handled."""

    status: str
    reply: str | None


class ChannelStore:
    """Synchronous methods for threads; the ``a``-prefixed twins run them off the event loop."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- dedup -----------------------------------------------------------------------------------
    def claim(self, channel: str, message_id: str) -> Seen | None:
        """None when the message is new (and now recorded); otherwise how it was handled before."""
        row = {
            "channel": channel,
            "message_id": message_id[:128],
            "received_at": _now(),
            "status": PROCESSING,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(inbound.insert().values(**row))
            return None
        except sa.exc.IntegrityError:
            pass
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(inbound.c.status, inbound.c.reply).where(
                    inbound.c.channel == channel, inbound.c.message_id == message_id[:128]
                )
            ).one()
        return Seen(found.status, found.reply)

    def finish(self, channel: str, message_id: str, status: str, reply: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                inbound.update()
                .where(inbound.c.channel == channel, inbound.c.message_id == message_id[:128])
                .values(status=status, reply=reply)
            )

    def prune(self, older_than: timedelta) -> int:
        """Forget dedup records older than ``older_than``; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(inbound.delete().where(inbound.c.received_at < _now() - older_than))
        return result.rowcount or 0

    # --- buttons ---------------------------------------------------------------------------------
    def remember_buttons(self, channel: str, sender_id: str, offered: tuple[Button, ...]) -> None:
        """Replace what ``sender_id`` was last offered (nothing offered = forget)."""
        key = (buttons.c.channel == channel) & (buttons.c.sender_id == sender_id)
        with self.engine.begin() as conn:
            conn.execute(buttons.delete().where(key))
            if offered:
                options: list[dict[str, Any]] = [b.as_dict() for b in offered]
                conn.execute(
                    buttons.insert().values(
                        channel=channel, sender_id=sender_id, options=options, offered_at=_now()
                    )
                )

    def offered_buttons(self, channel: str, sender_id: str) -> tuple[Button, ...]:
        with self.engine.connect() as conn:
            options = conn.execute(
                sa.select(buttons.c.options).where(
                    buttons.c.channel == channel, buttons.c.sender_id == sender_id
                )
            ).scalar_one_or_none()
        return tuple(Button(o["title"], o["payload"]) for o in options or [])

    # --- opt-outs --------------------------------------------------------------------------------
    def opt_out(self, channel: str, sender_id: str) -> bool:
        """Record the opt-out; True the first time (so the confirmation is sent once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    optouts.insert().values(channel=channel, sender_id=sender_id, opted_out_at=_now())
                )
            return True
        except sa.exc.IntegrityError:
            return False

    def opt_in(self, channel: str, sender_id: str) -> bool:
        """Lift an opt-out; True when there was one."""
        with self.engine.begin() as conn:
            result = conn.execute(
                optouts.delete().where(optouts.c.channel == channel, optouts.c.sender_id == sender_id)
            )
        return bool(result.rowcount)

    def opted_out(self, channel: str, sender_id: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(optouts.c.sender_id).where(
                    optouts.c.channel == channel, optouts.c.sender_id == sender_id
                )
            ).first()
        return found is not None

    # --- "全文" ---------------------------------------------------------------------------------------
    def remember_full(self, channel: str, sender_id: str, text: str | None) -> None:
        """Keep ``text`` as what "全文" sends ``sender_id`` next (None or "" = forget)."""
        key = (full_answers.c.channel == channel) & (full_answers.c.sender_id == sender_id)
        with self.engine.begin() as conn:
            conn.execute(full_answers.delete().where(key))
            if text:
                conn.execute(
                    full_answers.insert().values(
                        channel=channel, sender_id=sender_id, text=text, saved_at=_now()
                    )
                )

    def take_full(self, channel: str, sender_id: str) -> str | None:
        """The text kept for "全文", forgotten once taken (the channel keeps any rest it cannot send)."""
        key = (full_answers.c.channel == channel) & (full_answers.c.sender_id == sender_id)
        with self.engine.begin() as conn:
            text = conn.execute(sa.select(full_answers.c.text).where(key)).scalar_one_or_none()
            conn.execute(full_answers.delete().where(key))
        return text

    # --- async twins -----------------------------------------------------------------------------
    async def aclaim(self, channel: str, message_id: str) -> Seen | None:
        return await asyncio.to_thread(self.claim, channel, message_id)

    async def afinish(self, channel: str, message_id: str, status: str, reply: str | None = None) -> None:
        await asyncio.to_thread(self.finish, channel, message_id, status, reply)

    async def aremember_buttons(self, channel: str, sender_id: str, offered: tuple[Button, ...]) -> None:
        await asyncio.to_thread(self.remember_buttons, channel, sender_id, offered)

    async def aoffered_buttons(self, channel: str, sender_id: str) -> tuple[Button, ...]:
        return await asyncio.to_thread(self.offered_buttons, channel, sender_id)

    async def aopt_out(self, channel: str, sender_id: str) -> bool:
        return await asyncio.to_thread(self.opt_out, channel, sender_id)

    async def aopt_in(self, channel: str, sender_id: str) -> bool:
        return await asyncio.to_thread(self.opt_in, channel, sender_id)

    async def aopted_out(self, channel: str, sender_id: str) -> bool:
        return await asyncio.to_thread(self.opted_out, channel, sender_id)

    async def aremember_full(self, channel: str, sender_id: str, text: str | None) -> None:
        await asyncio.to_thread(self.remember_full, channel, sender_id, text)

    async def atake_full(self, channel: str, sender_id: str) -> str | None:
        return await asyncio.to_thread(self.take_full, channel, sender_id)

    def close(self) -> None:
        self.engine.dispose()


def open_channel_store(database_url: str) -> ChannelStore:
    """The store on ``database_url``, its schema brought up to date (every migration head)."""
    engine = sa.create_engine(database_url)
    migrations.upgrade(engine, "heads")
    return ChannelStore(engine)


def _now() -> datetime:
    return datetime.now(UTC)
