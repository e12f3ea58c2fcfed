"""`POST /api/chat`: one taxpayer message to the dialogue engine, its replies back.

The message goes through ``GatedDialogue`` (taxbot/conversations/gateway.py), the one path every channel
uses: masking before Rasa, the handoff gate, and the masked conversation log. While Rasa is down or slow
the message is queued and answered later (``taxbot.conversations.replay``, whose worker this router's
lifespan runs); the taxpayer never gets an error status for a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy as sa
from alembic.util import CommandError
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from channels.masking import get_logger
from taxbot.conversations import ConversationStore, open_conversation_store
from taxbot.conversations.gateway import GatedDialogue
from taxbot.conversations.pending import PendingStore
from taxbot.conversations.replay import QueueingEngine, ReplayWorker, notice
from taxbot.errors import DialogueUnavailable
from taxbot.routes import SettingsDep
from taxbot.routes.limits import RATE_LIMITED_RESPONSES, IpLimited, limit_sender, rate_limits_lifespan
from taxbot.settings import Settings

logger = get_logger(__name__)

UNAVAILABLE = "智能咨询暂时不可用，请稍后再试或拨打12366纳税缴费服务热线。"


@asynccontextmanager
async def conversations_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = getattr(app.state, "settings", None)
    url = (settings if isinstance(settings, Settings) else Settings()).resolved_database_url
    store: ConversationStore | None = None
    try:
        store = await asyncio.to_thread(open_conversation_store, url)
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        logger.error("conversation store not opened; chats go on unrecorded and without handoff: %s", exc)
    app.state.conversations = store
    app.state.pending = PendingStore(store.engine) if store is not None else None
    engine = QueueingEngine(app.state.rasa, app.state.pending) if store is not None else app.state.rasa
    app.state.dialogue = GatedDialogue(engine, store)
    replay = GatedDialogue(app.state.rasa, store)  # the same path, but failing instead of queueing
    worker = None
    if app.state.pending is not None:  # Delivery is built by a later lifespan: looked up when needed
        worker = ReplayWorker(app.state.pending, replay, app.state.rasa.status,
                              lambda: getattr(app.state, "delivery", None))  # fmt: skip
        worker.start()
    app.state.replay_worker = worker
    try:
        yield
    finally:
        if worker is not None:
            await worker.stop()
        await replay.drain()
        await app.state.dialogue.drain()
        if store is not None:
            store.close()


@asynccontextmanager
async def chat_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The rate limiters (used by every public taxpayer route, see ``taxbot.routes.limits``), then the
    conversation store and the dialogue path."""
    async with rate_limits_lifespan(app), conversations_lifespan(app):
        yield


router = APIRouter(prefix="/api", tags=["chat"], lifespan=chat_lifespan)


def get_conversations(request: Request) -> ConversationStore | None:
    return getattr(request.app.state, "conversations", None)


ConversationsDep = Annotated[ConversationStore | None, Depends(get_conversations)]


def get_dialogue(request: Request) -> GatedDialogue:
    """The app's one ``GatedDialogue`` (built by the lifespan around the Rasa client)."""
    return request.app.state.dialogue


DialogueDep = Annotated[GatedDialogue, Depends(get_dialogue)]


class ChatRequest(BaseModel):
    sender: str = Field(min_length=1, max_length=128, description="Conversation id, stable per taxpayer")
    message: str = Field(description="The taxpayer's message")


@router.post(
    "/chat",
    responses={422: {"description": "Empty or oversized message"}, **RATE_LIMITED_RESPONSES},
    dependencies=[IpLimited],
)
async def chat(
    body: ChatRequest,
    request: Request,
    settings: SettingsDep,
    dialogue: DialogueDep,
) -> list[dict[str, Any]]:
    """Rasa's replies: `{"recipient_id", "text", "buttons"}` and `{"recipient_id", "custom"}` (citations,
    answer kind) items; while a human has the conversation, one note that the message was passed on.

    Rasa down or slow: the message is queued and the note says so, custom `{"answer_kind": "queued",
    "poll": true}` — the answer comes later in `GET /api/chat/{sender}/messages` (one `bot` message per
    queued one). When it cannot be queued: custom `{"answer_kind": "unavailable", "retry": true}`.

    Too many requests from the address or messages from the sender in a minute: 429 with `Retry-After`."""
    message = body.message.strip()
    if not message:
        raise HTTPException(status_code=422, detail="消息不能为空：请输入您要咨询的问题。")
    if len(message) > settings.max_message_chars:
        raise HTTPException(
            status_code=422,
            detail=f"消息过长：{len(message)} 字，最多 {settings.max_message_chars} 字，请精简后再发送。",
        )
    await limit_sender(request, body.sender)  # after the checks: a refused message does not count
    try:
        return await dialogue.send_message(body.sender, message)
    except DialogueUnavailable as exc:
        logger.warning("chat from %s failed: %s", body.sender, exc)
        return notice(body.sender, UNAVAILABLE, answer_kind="unavailable", retry=True, citations=[])
