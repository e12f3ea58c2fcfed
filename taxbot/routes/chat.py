"""`POST /api/chat`: one taxpayer message to the dialogue engine, its replies back."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from taxbot.errors import DialogueUnavailable
from taxbot.routes import RasaDep, SettingsDep

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["chat"])

UNAVAILABLE = "智能咨询暂时不可用，请稍后再试或拨打12366纳税缴费服务热线。"


class ChatRequest(BaseModel):
    sender: str = Field(min_length=1, max_length=128, description="Conversation id, stable per taxpayer")
    message: str = Field(description="The taxpayer's message")


@router.post(
    "/chat",
    responses={
        422: {"description": "Empty or oversized message"},
        503: {"description": "The dialogue engine is unavailable"},
    },
)
async def chat(body: ChatRequest, settings: SettingsDep, rasa: RasaDep) -> list[dict[str, Any]]:
    """Rasa's replies: `{"recipient_id", "text"}` and `{"recipient_id", "custom"}` (citations) items."""
    message = body.message.strip()
    if not message:
        raise HTTPException(status_code=422, detail="消息不能为空：请输入您要咨询的问题。")
    if len(message) > settings.max_message_chars:
        raise HTTPException(
            status_code=422,
            detail=f"消息过长：{len(message)} 字，最多 {settings.max_message_chars} 字，请精简后再发送。",
        )
    try:
        return await rasa.send_message(body.sender, message)
    except DialogueUnavailable as exc:
        logger.warning("chat from %s failed: %s", body.sender, exc)
        raise HTTPException(status_code=503, detail=UNAVAILABLE) from None
