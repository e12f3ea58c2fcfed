"""Nothing lost while Rasa is slow or down: messages are queued, then answered when it is back.

``QueueingEngine`` wraps the Rasa client inside ``GatedDialogue`` (so it sees the masked message, after the
handoff gate). When Rasa is unavailable — or the conversation already has queued messages, which must be
answered first — the message goes to ``pending_messages`` and the taxpayer is told at once (``QUEUED``, with
the custom payload ``{"answer_kind": "queued", "poll": true}``). A button payload (``/intent{…}``) is not
queued: it answers the question the bot had just asked, and replayed later it could land out of context, so
the taxpayer is asked to choose again (``RETRY``, ``{"answer_kind": "unavailable", "retry": true}``). When the
queue itself cannot be written, ``DialogueUnavailable`` goes on to the channel, which says to retry.

``ReplayWorker`` (one per app replica, started by the chat router's lifespan) watches Rasa's ``/status``
with a doubling backoff while messages wait; once Rasa answers it replays them through a ``GatedDialogue``
on the plain Rasa client (masking, handoff gate, turn log), one conversation's messages strictly in order,
several conversations side by side, and pushes each answer as text with its citation line through
``Delivery`` (web: the widget polls; WeChat: 客服消息; SMS: the gateway). After ``max_attempts`` failed
replays, and once the message has waited ``give_up_after`` (Rasa's ``/status`` stays healthy while its
stores are down, so attempts alone would run out within seconds of a longer outage), the message is marked
failed and the taxpayer is pointed to 12366 instead. Every queued message thus ends with exactly one
pushed ``bot`` message.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from channels.base import OutboundMessage
from channels.conversation import NO_REPLY
from channels.masking import get_logger
from channels.render import render_text
from taxbot.conversations.gateway import Engine, require_replies
from taxbot.conversations.pending import ANSWERED, FAILED, PendingMessage, PendingStore
from taxbot.conversations.recorder import payload_intent
from taxbot.delivery import channel_of
from taxbot.errors import DialogueUnavailable

logger = get_logger(__name__)

QUEUED = "系统繁忙，您的问题已记录，恢复后会自动回复您；着急可拨打12366。"
RETRY = "系统繁忙，请稍后重新选择或直接输入您的问题；着急可拨打12366纳税缴费服务热线。"
GAVE_UP = "抱歉，您的问题“{question}”暂时无法自动答复，请拨打12366纳税缴费服务热线咨询。"
ANSWER = "关于您之前的问题“{question}”：\n{answer}"
QUOTE_CHARS = 15


def notice(sender: str, text: str, **custom: Any) -> list[dict[str, Any]]:
    """A reply list in Rasa's REST format: one text and its custom payload."""
    return [{"recipient_id": sender, "text": text}, {"recipient_id": sender, "custom": custom}]


class QueueingEngine:
    """``send_message`` like the Rasa client, queueing instead of failing (see the module docstring)."""

    def __init__(self, engine: Engine, pending: PendingStore) -> None:
        self.engine = engine
        self.pending = pending

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        try:
            waiting = await self.pending.ahas_pending(sender)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("pending queue of %s unreadable, asking the bot directly: %s", sender, exc)
            waiting = False
        if not waiting:
            try:
                return require_replies(sender, await self.engine.send_message(sender, message, metadata))
            except DialogueUnavailable as exc:
                error: DialogueUnavailable = exc
        else:
            error = DialogueUnavailable(f"{sender} has messages waiting for the dialogue engine")
        if payload_intent(message):
            logger.warning("%s: button payload not queued, asked to choose again: %s", sender, error)
            return notice(sender, RETRY, answer_kind="unavailable", retry=True, citations=[])
        try:
            pending_id = await self.pending.aadd(sender, channel_of(sender), message, metadata)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("message of %s could not be queued: %s", sender, exc)
            raise error from exc
        logger.warning("%s: message queued as %s: %s", sender, pending_id, error)
        return notice(sender, QUEUED, answer_kind="queued", poll=True, pending_id=pending_id, citations=[])


class Deliverer(Protocol):
    async def deliver(self, conversation_id: str, text: str, *, role: str = ...) -> Any: ...


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else f"{text[:QUOTE_CHARS]}…"


def answer_text(message: PendingMessage, replies: list[dict[str, Any]]) -> str:
    """The bot's replies as one text (answers, citation line, numbered options), naming the question."""
    outbound = OutboundMessage.from_rasa(replies)
    answer = render_text(outbound) if not outbound.empty else NO_REPLY
    return ANSWER.format(question=quote(message.text), answer=answer)


class ReplayWorker:
    """Replays queued messages once the dialogue engine is healthy again (``run`` until cancelled)."""

    def __init__(
        self,
        pending: PendingStore,
        dialogue: Engine,
        health: Callable[[], Awaitable[Any]],
        delivery: Callable[[], Deliverer | None],
        *,
        poll_seconds: float = 2.0,
        max_backoff: float = 15.0,
        lease: timedelta = timedelta(minutes=2),
        max_attempts: int = 3,
        give_up_after: timedelta = timedelta(minutes=30),
        concurrency: int = 4,
        owner: str = "",
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.pending, self.dialogue, self.health, self.delivery = pending, dialogue, health, delivery
        self.poll_seconds, self.max_backoff, self.lease = poll_seconds, max_backoff, lease
        self.max_attempts, self.give_up_after, self.concurrency = max_attempts, give_up_after, concurrency
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"replay-{self.owner}")

    async def stop(self) -> None:
        """Cancel the loop; a message caught mid-replay keeps its lease and is retried when it expires."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run(self) -> None:
        delay = self.poll_seconds
        while True:
            try:
                ready = await self.pending.aready()
                if not ready:
                    delay = self.poll_seconds
                elif await self._healthy():
                    delay = self.poll_seconds if await self.replay(ready) else self._longer(delay)
                else:
                    delay = self._longer(delay)
            except sa.exc.SQLAlchemyError as exc:
                logger.error("pending queue unreadable, trying again in %.0f s: %s", delay, exc)
                delay = self._longer(delay)
            await asyncio.sleep(delay)

    def _longer(self, delay: float) -> float:
        return min(delay * 2, self.max_backoff)

    async def _healthy(self) -> bool:
        try:
            await self.health()
        except DialogueUnavailable as exc:
            logger.info("messages waiting, dialogue engine still unavailable: %s", exc)
            return False
        return True

    async def replay(self, conversations: list[str]) -> bool:
        """One round over ``conversations`` (``concurrency`` at a time); False if the engine failed again."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(conversation_id: str) -> bool:
            async with gate:
                return await self.replay_conversation(conversation_id)

        results = await asyncio.gather(*(one(c) for c in conversations), return_exceptions=True)
        for conversation_id, result in zip(conversations, results, strict=True):
            if isinstance(result, BaseException):  # the worker's edge: its message is retried after the lease
                logger.error("replay of %s failed", conversation_id, exc_info=result)
        return all(result is True for result in results)

    async def replay_conversation(self, conversation_id: str) -> bool:
        """The conversation's queued messages in order, while this worker can claim them."""
        while True:
            message = await self.pending.aclaim_head(conversation_id, self.owner, self.lease)
            if message is None:
                return True
            if not await self._replay(message):
                return False

    async def _replay(self, message: PendingMessage) -> bool:
        delivery = self.delivery()
        if delivery is None:
            logger.error("no delivery (conversation store?), pending %s stays queued", message.id)
            await self.pending.arelease(message.id, "no delivery")
            return False
        try:
            replies = await self.dialogue.send_message(
                message.conversation_id, message.text, message.metadata
            )
        except DialogueUnavailable as exc:
            waited = datetime.now(UTC) - message.received_at
            if message.attempts < self.max_attempts or waited < self.give_up_after:
                logger.warning("pending %s: attempt %d failed: %s", message.id, message.attempts, exc)
                await self.pending.arelease(message.id, str(exc))
                return False
            logger.error("pending %s failed after %d attempts: %s", message.id, message.attempts, exc)
            await delivery.deliver(
                message.conversation_id, GAVE_UP.format(question=quote(message.text)), role="bot"
            )
            await self.pending.afinish(message.id, FAILED, str(exc))
            return False
        result = await delivery.deliver(message.conversation_id, answer_text(message, replies), role="bot")
        problem = getattr(result, "problem", "")
        await self.pending.afinish(message.id, ANSWERED, f"delivery: {problem}" if problem else "")
        logger.info("pending %s of %s answered", message.id, message.conversation_id)
        return True
