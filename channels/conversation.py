"""The shared turn: dedup → numeric reply to button payload → dialogue engine → remembered buttons.

Channels call ``Conversation`` and only deal with their platform's formats and limits themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from channels.base import Button, DialogueEngine, InboundMessage, OutboundMessage
from channels.masking import get_logger
from channels.render import citation_line, parse_choice
from channels.store import ChannelStore, Seen
from taxbot.errors import DialogueUnavailable

logger = get_logger(__name__)

UNAVAILABLE = "智能咨询暂时不可用，请稍后再试或拨打12366纳税缴费服务热线。"
NO_REPLY = "抱歉，暂时无法回答这个问题，您可以换个说法再问，或拨打12366纳税缴费服务热线。"


@dataclass(frozen=True)
class Turn:
    """One answer, plus what "全文" needs when the bot shortened it (Rasa's ``custom.full_answer``)."""

    outbound: OutboundMessage
    full_answer: str = ""  # the whole answer with its basis line; "" when the bot did not shorten it
    doc_id: str = ""  # the first cited document, for a link to the document view
    article: str = ""


def _full_answer(replies: list[dict[str, Any]], outbound: OutboundMessage) -> Turn:
    full, doc_id, article = "", "", ""
    for reply in replies:
        custom = reply.get("custom") if isinstance(reply, dict) else None
        if not isinstance(custom, dict):
            continue
        if isinstance(custom.get("full_answer"), str) and custom["full_answer"].strip() and not full:
            full = custom["full_answer"].strip()
        for item in custom.get("citations") or []:
            if isinstance(item, dict) and item.get("doc_id") and not doc_id:
                doc_id, article = str(item["doc_id"]), str(item.get("article") or "")
    if full:
        basis = citation_line(outbound.citations, already=full)
        full = f"{full}\n{basis}" if basis else full
    return Turn(outbound, full, doc_id, article)


class Conversation:
    """One per app: the store, the background tasks still delivering answers, and the turn itself."""

    def __init__(self, store: ChannelStore) -> None:
        self.store = store
        self._tasks: set[asyncio.Task[Any]] = set()

    async def claim(self, message: InboundMessage) -> Seen | None:
        """Log the message (masked) and record it; a non-None result means it was seen before."""
        seen = await self.store.aclaim(message.channel, message.message_id)
        if seen is not None:
            logger.info("%s duplicate ref=%s (first handled: %s), no new turn", message.channel, message.ref,
                        seen.status)  # fmt: skip
            return seen
        logger.info("%s inbound ref=%s from %s: %s", message.channel, message.ref, message.sender_id,
                    message.text)  # fmt: skip
        return None

    async def resolve(self, message: InboundMessage) -> str:
        """The text to send the bot: a bare option number becomes the offered button's payload."""
        choice = parse_choice(message.text)
        if choice is None:
            return message.text
        offered = await self.store.aoffered_buttons(message.channel, message.sender_id)
        if 1 <= choice <= len(offered):
            return offered[choice - 1].payload
        return message.text

    async def respond(
        self, message: InboundMessage, dialogue: DialogueEngine, text: str | None = None
    ) -> OutboundMessage:
        """Ask the dialogue engine (channel name in metadata) and remember the buttons it offered.

        Never raises for an unreachable engine: the app's dialogue queues the message and answers with a
        notice (``taxbot.conversations.replay``); where it cannot, the taxpayer gets an apology pointing to
        12366 and asking to retry.
        """
        return (await self.respond_turn(message, dialogue, text)).outbound

    async def respond_turn(
        self, message: InboundMessage, dialogue: DialogueEngine, text: str | None = None
    ) -> Turn:
        """``respond``, with the full answer and first cited document when the bot shortened it."""
        text = text if text is not None else await self.resolve(message)
        metadata = {"channel": message.channel, **message.metadata}
        sender = message.metadata.get("conversation_id") or f"{message.channel}:{message.sender_id}"
        try:
            replies = await dialogue.send_message(sender, text, metadata=metadata)
        except DialogueUnavailable as exc:
            logger.warning("%s ref=%s: dialogue engine unavailable: %s", message.channel, message.ref, exc)
            return Turn(OutboundMessage(texts=(UNAVAILABLE,)))
        outbound = OutboundMessage.from_rasa(replies)
        await self.offer(message, outbound.buttons)
        if outbound.empty:
            logger.warning("%s ref=%s: the bot said nothing", message.channel, message.ref)
            return Turn(OutboundMessage(texts=(NO_REPLY,)))
        return _full_answer(replies, outbound)

    async def offer(self, message: InboundMessage, buttons: tuple[Button, ...]) -> None:
        """Remember ``buttons`` as the last offer to this sender (an empty tuple clears it)."""
        await self.store.aremember_buttons(message.channel, message.sender_id, buttons)

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Run ``coroutine`` after the HTTP response; kept referenced until done, failures logged."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for deliveries still running (shutdown, tests); cancel what is left after ``timeout``."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
