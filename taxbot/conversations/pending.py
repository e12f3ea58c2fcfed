"""Messages accepted while the dialogue engine was down, waiting to be answered (``pending_messages``).

A message is queued (masked, as it would have gone to Rasa) when Rasa is unavailable, or when its
conversation already has queued messages — so a conversation's messages are answered in the order they came,
even once Rasa is back. The replay worker (``taxbot.conversations.replay``) takes them one at a time:

* ``ready`` lists conversations whose oldest pending message (their *head*) nobody holds;
* ``claim_head`` takes that head with one compare-and-set ``UPDATE … WHERE status = 'pending' AND the
  lease is free`` — atomic on PostgreSQL (the second writer re-checks the row after the first commits) and
  on SQLite (one writer at a time), so two app replicas never replay the same conversation at once. Only
  the head can be claimed, so a conversation's next message waits until the previous one is finished;
* a claim is a lease (``lease_until``): a replica that dies mid-replay leaves the message to another one
  once the lease runs out. It may then be answered twice, never not at all;
* every claim counts as an attempt; ``release`` gives the message back (Rasa failed again) and ``finish``
  ends it as ``answered`` or ``failed`` (too many attempts: the taxpayer is told to call 12366).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from channels.masking import mask
from taxbot.conversations.schema import metadata

PENDING, ANSWERED, FAILED = "pending", "answered", "failed"

pending_messages = sa.Table(
    "pending_messages",  # created by Alembic revision 0600_pending_messages
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)
_t = pending_messages


@dataclass(frozen=True)
class PendingMessage:
    id: int
    conversation_id: str
    channel: str
    text: str  # masked
    metadata: dict[str, Any]
    received_at: datetime
    attempts: int
    status: str
    last_error: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


def _free(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(_t.c.lease_until.is_(None), _t.c.lease_until < now)


class PendingStore:
    """On the conversation store's engine; synchronous methods with ``a``-prefixed async twins."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(self, conversation_id: str, channel: str, text: str, meta: dict[str, Any] | None = None) -> int:
        """Queue a message (masked here whatever the caller did); its id."""
        values = {
            "conversation_id": conversation_id, "channel": channel[:20], "text": mask(text),
            "metadata": dict(meta or {}), "received_at": _now(), "attempts": 0, "status": PENDING,
            "last_error": "",
        }  # fmt: skip
        with self.engine.begin() as conn:
            return conn.execute(_t.insert().values(**values)).inserted_primary_key[0]

    def has_pending(self, conversation_id: str) -> bool:
        """True while the conversation has messages waiting (or being replayed)."""
        query = sa.select(_t.c.id).where(_t.c.conversation_id == conversation_id, _t.c.status == PENDING)
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def ready(self, limit: int = 50) -> list[str]:
        """Conversations whose oldest pending message is free to claim, oldest first."""
        heads = (
            sa.select(sa.func.min(_t.c.id).label("head"))
            .where(_t.c.status == PENDING)
            .group_by(_t.c.conversation_id)
            .subquery()
        )
        query = (
            sa.select(_t.c.conversation_id)
            .join(heads, _t.c.id == heads.c.head)
            .where(_free(_now()))
            .order_by(_t.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def claim_head(self, conversation_id: str, owner: str, lease: timedelta) -> PendingMessage | None:
        """The conversation's oldest pending message, leased to ``owner`` (one more attempt), or None when
        there is none or another worker holds it."""
        now = _now()
        head = (
            sa.select(sa.func.min(_t.c.id))
            .where(_t.c.conversation_id == conversation_id, _t.c.status == PENDING)
            .scalar_subquery()
        )
        with self.engine.begin() as conn:
            head_id = conn.execute(sa.select(head)).scalar()
            if head_id is None:
                return None
            done = conn.execute(
                _t.update()
                .where(_t.c.id == head_id, _t.c.status == PENDING, _free(now))
                .values(lease_owner=owner[:64], lease_until=now + lease, attempts=_t.c.attempts + 1)
            )
            if done.rowcount != 1:
                return None
            return _message(conn.execute(sa.select(_t).where(_t.c.id == head_id)).one())

    def release(self, message_id: int, error: str) -> None:
        """Back in the queue (the engine failed again); the next claim is a new attempt."""
        with self.engine.begin() as conn:
            conn.execute(
                _t.update()
                .where(_t.c.id == message_id, _t.c.status == PENDING)
                .values(lease_owner=None, lease_until=None, last_error=error[:500])
            )

    def finish(self, message_id: int, status: str, error: str = "") -> None:
        """``answered`` or ``failed``: out of the queue for good."""
        if status not in (ANSWERED, FAILED):
            raise ValueError(f"a pending message finishes answered or failed, not {status!r}")
        values: dict[str, Any] = {
            "status": status,
            "lease_owner": None,
            "lease_until": None,
            "finished_at": _now(),
        }
        if error:
            values["last_error"] = error[:500]
        with self.engine.begin() as conn:
            conn.execute(_t.update().where(_t.c.id == message_id).values(**values))

    def messages(self, conversation_id: str | None = None) -> list[PendingMessage]:
        """Every queued message (of one conversation), oldest first: for the CLI and tests."""
        query = sa.select(_t).order_by(_t.c.id)
        if conversation_id is not None:
            query = query.where(_t.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            return [_message(r) for r in conn.execute(query).all()]

    # --- async twins -------------------------------------------------------------------------------
    async def aadd(
        self, conversation_id: str, channel: str, text: str, meta: dict[str, Any] | None = None
    ) -> int:
        return await asyncio.to_thread(self.add, conversation_id, channel, text, meta)

    async def ahas_pending(self, conversation_id: str) -> bool:
        return await asyncio.to_thread(self.has_pending, conversation_id)

    async def aready(self, limit: int = 50) -> list[str]:
        return await asyncio.to_thread(self.ready, limit)

    async def aclaim_head(self, conversation_id: str, owner: str, lease: timedelta) -> PendingMessage | None:
        return await asyncio.to_thread(self.claim_head, conversation_id, owner, lease)

    async def arelease(self, message_id: int, error: str) -> None:
        await asyncio.to_thread(self.release, message_id, error)

    async def afinish(self, message_id: int, status: str, error: str = "") -> None:
        await asyncio.to_thread(self.finish, message_id, status, error)


def _message(row: sa.Row) -> PendingMessage:
    received = row.received_at  # SQLite gives back naive datetimes: stored as UTC
    received = received if received.tzinfo else received.replace(tzinfo=UTC)
    return PendingMessage(
        row.id, row.conversation_id, row.channel, row.text, dict(row._mapping["metadata"] or {}),
        received, row.attempts, row.status, row.last_error,
    )  # fmt: skip
