"""The live handoff desk: the queue of conversations handed over to a human, claim, reply, release.

A waiting handoff is claimed by one agent (409 for the others); only that agent replies (403 for others,
409 before claiming); releasing gives the conversation back to the bot and tells the taxpayer so — the
claiming agent, anyone while it is still waiting, or a reviewer/admin taking it back from an absent agent.
Replies and notices go out through ``taxbot.delivery`` (the channel the taxpayer came from). Every action is
in the staff audit log (kind ``handoff``). Everything shown is masked again on the way out.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from channels.masking import mask
from knowledge_base.models import NATIONAL
from taxbot.conversations.schema import turns
from taxbot.conversations.store import (
    BOT,
    CLAIMED,
    PUSH_FAILED,
    PUSH_KINDS,
    RELEASED,
    TAXPAYER,
    WAITING,
    ConversationStore,
    Handoff,
    HandoffNotFound,
)
from taxbot.delivery import CHANNEL_NAMES, Delivery, DeliveryResult, channel_of
from taxbot.staff.accounts import Role, StaffStore
from taxbot.staff.auth import Principal
from taxbot.staff.errors import Conflict, Invalid, NotFound, WorkflowError

BACK_TO_BOT = "人工坐席已结束本次服务，接下来由智能咨询继续为您解答。如需再次转人工，请回复“转人工”。"
REASONS = {"request": "纳税人要求转人工", "negative_feedback": "对回答不满意", "no_answer": "机器人未能回答"}
STATUS_NAMES = {WAITING: "等待接管", CLAIMED: "已接管", RELEASED: "已交还机器人"}
NOT_ATTEMPTS = ("handoff", "with_agent", "to_agent", *PUSH_KINDS)  # turns that are not the bot's answer


class Forbidden(WorkflowError):
    status_code = 403


class Unavailable(WorkflowError):
    status_code = 503


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def handoff_public(handoff: Handoff) -> dict[str, Any]:
    created = _aware(handoff.created_at)
    return {
        "id": handoff.id, "conversation_id": handoff.conversation_id,
        "channel": CHANNEL_NAMES[channel_of(handoff.conversation_id)], "reason": handoff.reason,
        "reason_text": REASONS.get(handoff.reason, handoff.reason), "status": handoff.status,
        "status_text": STATUS_NAMES.get(handoff.status, handoff.status), "claimed_by": handoff.claimed_by,
        "created_at": created.isoformat() if created else None,
        "waiting_seconds": int((datetime.now(UTC) - created).total_seconds()) if created else 0,
    }  # fmt: skip


def _context(conn: sa.Connection, handoff: Handoff) -> dict[str, Any]:
    """The taxpayer's last question and the bot's last attempt before the handoff, and the region."""
    before = (turns.c.conversation_id == handoff.conversation_id) & (turns.c.at <= handoff.created_at)
    attempt = conn.execute(
        sa.select(turns.c.text, turns.c.answer_kind, turns.c.sources)
        .where(before, turns.c.role == BOT, turns.c.answer_kind.not_in(NOT_ATTEMPTS))
        .order_by(turns.c.id.desc()).limit(1)
    ).first()  # fmt: skip
    question = conn.execute(
        sa.select(turns.c.text)
        .where(before, turns.c.role == TAXPAYER, ~turns.c.text.startswith("/"))
        .order_by(turns.c.id.desc()).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    region = conn.execute(
        sa.select(turns.c.region)
        .where(turns.c.conversation_id == handoff.conversation_id, turns.c.region != NATIONAL)
        .order_by(turns.c.id.desc()).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    return {
        "region": region or NATIONAL,
        "question": mask(question or ""),
        "last_attempt": {
            "text": mask(attempt.text), "answer_kind": attempt.answer_kind, "sources": list(attempt.sources),
        } if attempt is not None else None,
    }  # fmt: skip


def turn_public(turn: Any) -> dict[str, Any]:
    return {
        "id": turn.id, "role": turn.role, "text": mask(turn.text), "at": _aware(turn.at).isoformat(),
        "answer_kind": turn.answer_kind, "sources": list(turn.sources),
        "undelivered": turn.answer_kind == PUSH_FAILED,
    }  # fmt: skip


class HandoffDesk:
    def __init__(
        self, conversations: ConversationStore, staff: StaffStore, delivery: Delivery | None, max_chars: int
    ) -> None:
        self.conversations = conversations
        self.staff = staff
        self.delivery = delivery
        self.max_chars = max_chars

    # --- reading ---------------------------------------------------------------------------------------
    def queue(self) -> list[dict[str, Any]]:
        """Waiting and claimed handoffs, oldest first, each with its context."""
        found = self.conversations.list_waiting(include_claimed=True)
        with self.conversations.engine.connect() as conn:
            return [handoff_public(h) | _context(conn, h) for h in found]

    def get(self, handoff_id: int) -> dict[str, Any]:
        """One handoff with its context and the whole (masked) transcript."""
        handoff = self._get(handoff_id)
        with self.conversations.engine.connect() as conn:
            context = _context(conn, handoff)
        transcript = self.conversations.transcript(handoff.conversation_id)
        return handoff_public(handoff) | context | {"transcript": [turn_public(t) for t in transcript]}

    def _get(self, handoff_id: int) -> Handoff:
        handoff = self.conversations.get_handoff(handoff_id)
        if handoff is None:
            raise NotFound(f"没有编号为 {handoff_id} 的转人工会话。")
        return handoff

    # --- acting ----------------------------------------------------------------------------------------
    def claim(self, handoff_id: int, principal: Principal) -> Handoff:
        agent = principal.user.username
        handoff = self._get(handoff_id)
        if handoff.status == WAITING:
            try:
                handoff = self.conversations.claim(handoff_id, agent)
            except HandoffNotFound:  # another agent was quicker
                handoff = self._get(handoff_id)
            else:
                self.staff.audit(
                    agent, "claim_handoff", "handoff", str(handoff_id), before=WAITING, after=CLAIMED
                )
                return handoff
        if handoff.status == CLAIMED and handoff.claimed_by == agent:
            return handoff
        raise Conflict(self._taken(handoff))

    async def reply(self, handoff_id: int, principal: Principal, text: str) -> DeliveryResult:
        text = text.strip()
        if not text:
            raise Invalid("回复不能为空：请输入要发给纳税人的内容。")
        if len(text) > self.max_chars:
            raise Invalid(f"回复过长：{len(text)} 字，最多 {self.max_chars} 字，请精简或分几条发送。")
        handoff = await asyncio.to_thread(self._get, handoff_id)
        agent = principal.user.username
        if handoff.status == WAITING:
            raise Conflict("请先接管该会话再回复。")
        if handoff.status != CLAIMED:
            raise Conflict(self._taken(handoff))
        if handoff.claimed_by != agent:
            raise Forbidden(f"该会话由 {handoff.claimed_by} 接管，只有接管的坐席可以回复。")
        result = await self._deliver(handoff.conversation_id, text, role="agent")
        await asyncio.to_thread(
            self.staff.audit, agent, "reply_handoff", "handoff", str(handoff_id),
            after=f"turn {result.turn_id}",
            detail={"channel": result.channel, "delivered": result.delivered, "problem": result.problem},
        )  # fmt: skip
        return result

    async def release(self, handoff_id: int, principal: Principal) -> tuple[Handoff, DeliveryResult]:
        handoff = await asyncio.to_thread(self._get, handoff_id)
        user = principal.user
        if handoff.status == RELEASED:
            raise Conflict("该会话已交还机器人。")
        mine = handoff.status == WAITING or handoff.claimed_by == user.username
        if not mine and not user.role.allows(Role.REVIEWER):
            raise Forbidden(f"该会话由 {handoff.claimed_by} 接管，只有该坐席或审核员可以交还机器人。")
        try:
            released = await asyncio.to_thread(self.conversations.release, handoff_id)
        except HandoffNotFound:
            raise Conflict("该会话已交还机器人。") from None
        notice = await self._deliver(handoff.conversation_id, BACK_TO_BOT, role=BOT)
        await asyncio.to_thread(
            self.staff.audit, user.username, "release_handoff", "handoff", str(handoff_id),
            before=handoff.status, after=RELEASED, detail={"claimed_by": handoff.claimed_by or ""},
        )  # fmt: skip
        return released, notice

    async def _deliver(self, conversation_id: str, text: str, *, role: str) -> DeliveryResult:
        if self.delivery is None:
            raise Unavailable("消息投递未启动（对话记录库不可用），请稍后再试。")
        return await self.delivery.deliver(conversation_id, text, role=role)

    @staticmethod
    def _taken(handoff: Handoff) -> str:
        if handoff.status == RELEASED:
            return "该会话已交还机器人。"
        return f"该会话已由 {handoff.claimed_by} 接管。"
