"""The dialogue engine as every channel sees it (web chat, WeChat, SMS): one path for privacy and handoff.

Around the Rasa call it keeps the conversation records (``taxbot.conversations``):

* identifiers (ID card, phone, 纳税人识别号, bank card) are masked **before** the message goes to Rasa,
  so neither Rasa's tracker store nor the conversation log ever holds them;
* the handoff gate: while a conversation is handed over to a human (a waiting or claimed handoff), the
  taxpayer's messages are stored for the agent and not sent to Rasa — the bot is paused there until an
  agent releases it (`taxbot conversations release ID`). Chosen over Rasa's ConversationPaused so that
  releasing needs only the database, not a call into Rasa, and the agent sees every message;
* every turn is logged masked (text, intent if known, answer kind, sources) — plain turns in a task
  after the answer is returned, so the log never delays it; feedback, ratings and the handoffs the
  actions asked for (their ``custom`` payload) are stored before the answer is returned.

A broken conversation database never stops the chat: it is logged and the turn goes on unrecorded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import sqlalchemy as sa

from channels.masking import get_logger, mask
from taxbot.conversations.recorder import TurnSummary, payload_intent, summarise
from taxbot.conversations.store import TAXPAYER, ConversationStore
from taxbot.errors import DialogueUnavailable
from taxbot.observability.logs import bind_conversation
from taxbot.observability.metrics import channel_of, record_turn

logger = get_logger(__name__)

WITH_AGENT = (
    "您的消息已转给人工坐席，工作人员会在这里回复您，请稍候。着急的话也可以拨打12366纳税缴费服务热线。"
)


class Engine(Protocol):
    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...


def require_replies(sender: str, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``replies``, or ``DialogueUnavailable`` when there are none: Rasa 3.6's REST channel answers 200 with
    an empty list when the turn failed inside it (lock store unreachable: ``LockError``; any exception in
    ``handle_message``), so "no reply" is how a failed turn looks from here — never lose it as an answer."""
    if not replies:
        raise DialogueUnavailable(f"Rasa answered nothing to {sender} (a failed turn; see rasa.log)")
    return replies


class GatedDialogue:
    """``send_message`` like the Rasa client (raises ``DialogueUnavailable``), plus masking, gate and log."""

    def __init__(self, engine: Engine, conversations: ConversationStore | None) -> None:
        self.engine = engine
        self.conversations = conversations
        self._pending: set[asyncio.Task[None]] = set()

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        bind_conversation(sender)  # named in this turn's log lines
        started, replies = time.perf_counter(), None
        try:
            replies = await self._send_gated(sender, message, metadata)
        finally:  # turn metrics by channel; ``None`` replies: the dialogue engine was unavailable
            record_turn(channel_of(metadata), replies, time.perf_counter() - started)
        return replies

    async def _send_gated(
        self, sender: str, message: str, metadata: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        message = mask(message)
        store = self.conversations
        if store is not None and await _with_agent(store, sender, message):
            return [
                {"recipient_id": sender, "text": WITH_AGENT},
                {"recipient_id": sender, "custom": {"answer_kind": "with_agent", "citations": []}},
            ]
        replies = require_replies(sender, await self.engine.send_message(sender, message, metadata))
        if store is not None:
            summary = summarise(message, replies)
            if summary.handoff_reason or summary.feedback or summary.rating:
                # the gate must be closed (and feedback kept) before the taxpayer can send the next message
                await _record(store, sender, message, summary)
            else:  # a plain turn's log entry can wait until the answer is on its way
                task = asyncio.create_task(_record(store, sender, message, summary))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        return replies

    async def drain(self) -> None:
        """Wait for the log entries still being written (at shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


async def _with_agent(store: ConversationStore, sender: str, message: str) -> bool:
    """True (and the message stored for the agent) when the conversation is handed over."""
    try:
        if await store.ahanded_over(sender) is None:
            return False
        await store.arecord_turn(
            sender, TAXPAYER, message, intent=payload_intent(message), answer_kind="to_agent"
        )
    except sa.exc.SQLAlchemyError as exc:
        logger.error("handoff check for %s failed, the bot answers: %s", sender, exc)
        return False
    return True


async def _record(store: ConversationStore, sender: str, message: str, summary: TurnSummary) -> None:
    try:
        handoff = await store.arecord_exchange(sender, message, summary)
    except sa.exc.SQLAlchemyError as exc:
        logger.error("turn of %s not recorded: %s", sender, exc)
        return
    if handoff is not None:
        logger.info("conversation %s handed over (handoff %s, %s)", sender, handoff.id, handoff.reason)
