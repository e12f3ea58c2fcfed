"""Conversations as the staff and analytics see them (SQLAlchemy Core; tables from Alembic revision 0200).

* ``conversation_turns``: every turn, masked before it is stored (text, intent if known, answer kind,
  the knowledge base sources it was answered from, region);
* ``handoffs``: the human handoff queue — ``waiting`` → ``claimed`` (an agent took it) → ``released``
  (back to the bot). While a conversation has a waiting or claimed handoff the bot stays silent in it;
* ``feedback``: 有用/没用 on an answer (question, sources, region) and the 1–5 rating at the end;
* ``channel_addresses`` (revision 0500): where a pushed message goes when the conversation id does not
  say it (the number behind an SMS pseudonym); read only by ``taxbot.delivery``, never shown to staff.

Messages pushed into a conversation (a staff reply, the bot's "back" notice; ``taxbot.delivery``) are turns
whose answer kind is ``pushed`` or ``push_failed``; the web widget fetches them with ``pushed_after``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from channels.masking import mask
from knowledge_base import migrations
from knowledge_base.models import NATIONAL
from taxbot.conversations.recorder import TurnSummary
from taxbot.conversations.schema import feedback, handoffs, metadata, turns
from taxbot.errors import TaxbotError

WAITING, CLAIMED, RELEASED = "waiting", "claimed", "released"
OPEN = (WAITING, CLAIMED)
TAXPAYER, BOT, AGENT = "taxpayer", "bot", "agent"
PUSHING, PUSHED, PUSH_FAILED = "pushing", "pushed", "push_failed"  # answer kinds of pushed turns
PUSH_KINDS = (PUSHING, PUSHED, PUSH_FAILED)
ANSWER_KINDS = ("faq", "article", "calculation")  # bot turns that answer a question (feedback is about them)


addresses = sa.Table(
    "channel_addresses",  # created by Alembic revision 0500_handoff_desk
    metadata,
    sa.Column("conversation_id", sa.String(128), primary_key=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("via", sa.String(20), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class HandoffNotFound(TaxbotError):
    """No open handoff with that id (or it is in another state than the operation needs)."""


@dataclass(frozen=True)
class Turn:
    id: int
    conversation_id: str
    at: datetime
    role: str
    text: str
    intent: str = ""
    answer_kind: str = ""
    sources: tuple[str, ...] = ()
    region: str = NATIONAL


@dataclass(frozen=True)
class Handoff:
    id: int
    conversation_id: str
    reason: str
    status: str
    created_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None


@dataclass(frozen=True)
class Feedback:
    id: int
    conversation_id: str
    at: datetime
    kind: str  # positive / negative / rating
    rating: int | None
    question: str
    sources: tuple[str, ...]
    region: str


def _now() -> datetime:
    return datetime.now(UTC)


class ConversationStore:
    """Synchronous methods (CLI, threads); the ``a``-prefixed twins run them off the event loop."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- the log -----------------------------------------------------------------------------------
    def record_turn(
        self,
        conversation_id: str,
        role: str,
        text: str,
        *,
        intent: str = "",
        answer_kind: str = "",
        sources: Sequence[str] = (),
        region: str = NATIONAL,
    ) -> int:
        """Store one turn (its id returned); the text is masked here whatever the caller did."""
        with self.engine.begin() as conn:
            return conn.execute(
                turns.insert().values(
                    conversation_id=conversation_id,
                    at=_now(),
                    role=role,
                    text=mask(text),
                    intent=intent[:64],
                    answer_kind=answer_kind[:32],
                    sources=list(sources),
                    region=region or NATIONAL,
                )
            ).inserted_primary_key[0]

    def set_answer_kind(self, turn_id: int, answer_kind: str) -> None:
        """Mark a turn after the fact (a pushed message: delivered or not)."""
        with self.engine.begin() as conn:
            conn.execute(turns.update().where(turns.c.id == turn_id).values(answer_kind=answer_kind[:32]))

    def pushed_after(self, conversation_id: str, after: int, *, limit: int = 100) -> list[Turn]:
        """Messages pushed into the conversation (staff replies, bot notices) with an id above ``after``."""
        query = (
            sa.select(turns)
            .where(
                turns.c.conversation_id == conversation_id,
                turns.c.id > after,
                turns.c.answer_kind.in_(PUSH_KINDS),
            )
            .order_by(turns.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_turn(r) for r in conn.execute(query).all()]

    def transcript(self, conversation_id: str, *, limit: int = 500) -> list[Turn]:
        """The conversation's turns, oldest first (the last ``limit``)."""
        query = (
            sa.select(turns)
            .where(turns.c.conversation_id == conversation_id)
            .order_by(turns.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_turn(r) for r in reversed(rows)]

    # --- the handoff queue -------------------------------------------------------------------------
    def enqueue(self, conversation_id: str, reason: str) -> Handoff:
        """Put the conversation in the queue (an already open handoff is returned as it is)."""
        with self.engine.begin() as conn:
            found = self._open(conn, conversation_id)
            if found is not None:
                return found
            new_id = conn.execute(
                handoffs.insert().values(
                    conversation_id=conversation_id,
                    reason=reason,
                    status=WAITING,
                    created_at=_now(),
                )
            ).inserted_primary_key[0]
            row = conn.execute(sa.select(handoffs).where(handoffs.c.id == new_id)).one()
        return _handoff(row)

    def handed_over(self, conversation_id: str) -> Handoff | None:
        """The open handoff of a conversation (the bot is paused in it), or None."""
        with self.engine.connect() as conn:
            return self._open(conn, conversation_id)

    def get_handoff(self, handoff_id: int) -> Handoff | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).first()
        return _handoff(row) if row is not None else None

    def list_waiting(self, *, include_claimed: bool = False) -> list[Handoff]:
        """Open handoffs, oldest first."""
        states = OPEN if include_claimed else (WAITING,)
        query = sa.select(handoffs).where(handoffs.c.status.in_(states)).order_by(handoffs.c.id)
        with self.engine.connect() as conn:
            return [_handoff(r) for r in conn.execute(query).all()]

    def claim(self, handoff_id: int, agent: str) -> Handoff:
        """An agent takes a waiting handoff; raises HandoffNotFound when it is not waiting."""
        return self._move(handoff_id, (WAITING,), status=CLAIMED, claimed_by=agent, claimed_at=_now())

    def release(self, handoff_id: int) -> Handoff:
        """Back to the bot: the taxpayer's next message is answered by the bot again."""
        return self._move(handoff_id, OPEN, status=RELEASED, released_at=_now())

    def _move(self, handoff_id: int, from_states: tuple[str, ...], **values: object) -> Handoff:
        with self.engine.begin() as conn:
            done = conn.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.status.in_(from_states))
                .values(**values)
            )
            if not done.rowcount:
                raise HandoffNotFound(f"no handoff {handoff_id} in state {'/'.join(from_states)}")
            return _handoff(conn.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).one())

    @staticmethod
    def _last_answer(conn: sa.Connection, conversation_id: str) -> tuple[str, tuple[str, ...], str] | None:
        """(question, sources, region) of the conversation's latest answer, for the feedback about it."""
        bot = conn.execute(
            sa.select(turns.c.id, turns.c.sources, turns.c.region)
            .where(turns.c.conversation_id == conversation_id, turns.c.role == BOT,
                   turns.c.answer_kind.in_(ANSWER_KINDS))
            .order_by(turns.c.id.desc())
            .limit(1)
        ).first()  # fmt: skip
        if bot is None:
            return None
        question = conn.execute(
            sa.select(turns.c.text)
            .where(
                turns.c.conversation_id == conversation_id,
                turns.c.role == TAXPAYER,
                turns.c.id < bot.id,
                ~turns.c.text.startswith(
                    "/"
                ),  # a button payload (/inform_region) answers an earlier question
            )
            .order_by(turns.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return question or "", tuple(bot.sources or ()), bot.region

    @staticmethod
    def _open(conn: sa.Connection, conversation_id: str) -> Handoff | None:
        row = conn.execute(
            sa.select(handoffs)
            .where(handoffs.c.conversation_id == conversation_id, handoffs.c.status.in_(OPEN))
            .order_by(handoffs.c.id.desc())
            .limit(1)
        ).first()
        return _handoff(row) if row is not None else None

    # --- where pushed messages go ----------------------------------------------------------------------
    def remember_address(self, conversation_id: str, channel: str, address: str, via: str = "") -> None:
        """The latest address of the conversation (an SMS number), replacing any earlier one."""
        values = {"channel": channel, "address": address[:64], "via": via[:20], "updated_at": _now()}
        with self.engine.begin() as conn:
            done = conn.execute(
                addresses.update().where(addresses.c.conversation_id == conversation_id).values(**values)
            )
            if not done.rowcount:
                conn.execute(addresses.insert().values(conversation_id=conversation_id, **values))

    def address(self, conversation_id: str) -> tuple[str, str, str] | None:
        """(channel, address, via) of the conversation, or None when none was recorded."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(addresses.c.channel, addresses.c.address, addresses.c.via).where(
                    addresses.c.conversation_id == conversation_id
                )
            ).first()
        return (row.channel, row.address, row.via) if row is not None else None

    # --- feedback ----------------------------------------------------------------------------------
    def record_feedback(
        self,
        conversation_id: str,
        kind: str,
        *,
        question: str = "",
        sources: Sequence[str] = (),
        region: str = NATIONAL,
        rating: int | None = None,
    ) -> None:
        if kind == "rating" and (rating is None or not 1 <= rating <= 5):
            raise ValueError(f"a rating is 1 to 5, got {rating!r}")
        with self.engine.begin() as conn:
            conn.execute(
                feedback.insert().values(
                    conversation_id=conversation_id,
                    at=_now(),
                    kind=kind,
                    rating=rating,
                    question=mask(question),
                    sources=list(sources),
                    region=region or NATIONAL,
                )
            )

    def list_feedback(self, *, conversation_id: str | None = None) -> list[Feedback]:
        query = sa.select(feedback).order_by(feedback.c.id)
        if conversation_id is not None:
            query = query.where(feedback.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            return [
                Feedback(
                    r.id, r.conversation_id, r.at, r.kind, r.rating, r.question, tuple(r.sources), r.region
                )
                for r in conn.execute(query).all()
            ]

    def record_exchange(self, conversation_id: str, message: str, summary: TurnSummary) -> Handoff | None:
        """One dialogue turn in one transaction: the taxpayer's message, the bot's reply, the feedback or
        rating it carried, and the handoff the actions asked for (returned when one is open now)."""
        now = _now()
        base = {"conversation_id": conversation_id, "at": now, "region": summary.region or NATIONAL}
        rows = [
            base
            | {
                "role": TAXPAYER,
                "text": mask(message),
                "intent": summary.intent[:64],
                "answer_kind": "",
                "sources": [],
            },
            base
            | {
                "role": BOT,
                "text": mask(summary.bot_text),
                "intent": summary.intent[:64],
                "answer_kind": summary.answer_kind[:32],
                "sources": list(summary.sources),
            },
        ]
        with self.engine.begin() as conn:
            answered = self._last_answer(conn, conversation_id) if summary.feedback is not None else None
            conn.execute(turns.insert(), rows)
            if summary.feedback is not None:
                question, sources, region = answered or ("", (), NATIONAL)
                fb = {"question": question, "sources": sources, "region": region} | summary.feedback
                conn.execute(
                    feedback.insert().values(
                        conversation_id=conversation_id,
                        at=now,
                        kind=str(fb.get("kind") or "negative")[:16],
                        rating=None,
                        question=mask(str(fb.get("question") or "")),
                        sources=[str(s) for s in fb.get("sources") or ()],
                        region=str(fb.get("region") or NATIONAL),
                    )
                )
            if summary.rating is not None and 1 <= summary.rating <= 5:
                conn.execute(
                    feedback.insert().values(
                        conversation_id=conversation_id,
                        at=now,
                        kind="rating",
                        rating=summary.rating,
                        question="",
                        sources=[],
                        region=summary.region or NATIONAL,
                    )
                )
            if summary.handoff_reason is None:
                return None
            found = self._open(conn, conversation_id)
            if found is not None:
                return found
            new_id = conn.execute(
                handoffs.insert().values(
                    conversation_id=conversation_id,
                    reason=summary.handoff_reason[:32],
                    status=WAITING,
                    created_at=now,
                )
            ).inserted_primary_key[0]
            return _handoff(conn.execute(sa.select(handoffs).where(handoffs.c.id == new_id)).one())

    # --- async twins -------------------------------------------------------------------------------
    async def arecord_turn(self, conversation_id: str, role: str, text: str, **kwargs: object) -> int:
        return await asyncio.to_thread(lambda: self.record_turn(conversation_id, role, text, **kwargs))  # type: ignore[arg-type]

    async def aset_answer_kind(self, turn_id: int, answer_kind: str) -> None:
        await asyncio.to_thread(self.set_answer_kind, turn_id, answer_kind)

    async def apushed_after(self, conversation_id: str, after: int) -> list[Turn]:
        return await asyncio.to_thread(self.pushed_after, conversation_id, after)

    async def aremember_address(
        self, conversation_id: str, channel: str, address: str, via: str = ""
    ) -> None:
        await asyncio.to_thread(self.remember_address, conversation_id, channel, address, via)

    async def aaddress(self, conversation_id: str) -> tuple[str, str, str] | None:
        return await asyncio.to_thread(self.address, conversation_id)

    async def arecord_exchange(
        self, conversation_id: str, message: str, summary: TurnSummary
    ) -> Handoff | None:
        return await asyncio.to_thread(self.record_exchange, conversation_id, message, summary)

    async def ahanded_over(self, conversation_id: str) -> Handoff | None:
        return await asyncio.to_thread(self.handed_over, conversation_id)

    async def aenqueue(self, conversation_id: str, reason: str) -> Handoff:
        return await asyncio.to_thread(self.enqueue, conversation_id, reason)

    async def arecord_feedback(self, conversation_id: str, kind: str, **kwargs: object) -> None:
        await asyncio.to_thread(lambda: self.record_feedback(conversation_id, kind, **kwargs))  # type: ignore[arg-type]

    def close(self) -> None:
        self.engine.dispose()


def _turn(row: sa.Row) -> Turn:
    return Turn(
        row.id,
        row.conversation_id,
        row.at,
        row.role,
        row.text,
        row.intent,
        row.answer_kind,
        tuple(row.sources or ()),
        row.region,
    )


def _handoff(row: sa.Row) -> Handoff:
    return Handoff(
        row.id, row.conversation_id, row.reason, row.status, row.created_at, row.claimed_by, row.claimed_at
    )


def open_conversation_store(database_url: str) -> ConversationStore:
    """The store on ``database_url``, its schema brought up to date (every migration head)."""
    return ConversationStore(migrations.migrated_engine(database_url))
