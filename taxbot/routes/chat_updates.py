"""`GET /api/chat/{sender}/messages`: what was pushed into a web conversation since the widget last looked.

While a human agent has the conversation the widget polls here for the agent's replies and the bot's "back"
notice (turns pushed by ``taxbot.delivery``). Public like `POST /api/chat`: the sender id is the widget's
unguessable random id, and only pushed turns are returned, never the taxpayer's own messages.

Including the router also builds ``app.state.delivery`` (``Delivery``) once the conversation store and the
channel clients exist, so include it after ``taxbot.routes.chat`` and ``channels.routes``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, HTTPException, Path, Query

from taxbot.delivery import Delivery
from taxbot.routes.chat import ConversationsDep
from taxbot.routes.limits import RATE_LIMITED_RESPONSES, PollLimited

POLL_SECONDS = 3  # how often the widget asks while a handoff is open (told in the answer)
UNAVAILABLE = "对话记录暂时不可用，请稍后再试或拨打12366纳税缴费服务热线。"


@asynccontextmanager
async def delivery_lifespan(app: FastAPI) -> AsyncIterator[None]:
    store = getattr(app.state, "conversations", None)
    channels = getattr(app.state, "channels", None)
    twilio = getattr(app.state, "sms_twilio", None)
    app.state.delivery = Delivery(store, channels, twilio) if store is not None else None
    yield


router = APIRouter(prefix="/api", tags=["chat"], lifespan=delivery_lifespan)


@router.get(
    "/chat/{sender}/messages",
    responses={503: {"description": "No conversation store"}, **RATE_LIMITED_RESPONSES},
    dependencies=[PollLimited],
)
async def pushed_messages(
    conversations: ConversationsDep,
    sender: Annotated[str, Path(min_length=1, max_length=128)],
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="The last turn id the widget has")] = 0,
) -> dict[str, Any]:
    """`{"messages": [{"id", "role": "agent"|"bot", "text", "at"}], "handoff": "waiting"|"claimed"|null,
    "poll_seconds"}` — the widget keeps polling while ``handoff`` is not null."""
    if conversations is None:
        raise HTTPException(status_code=503, detail=UNAVAILABLE)
    try:
        turns = await conversations.apushed_after(sender, after)
        handoff = await conversations.ahanded_over(sender)
    except sa.exc.OperationalError as exc:  # the database is down: the widget polls again
        raise HTTPException(status_code=503, detail=UNAVAILABLE) from exc
    return {
        "messages": [{"id": t.id, "role": t.role, "text": t.text, "at": t.at.isoformat()} for t in turns],
        "handoff": handoff.status if handoff is not None else None,
        "poll_seconds": POLL_SECONDS,
    }
