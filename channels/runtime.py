"""What the channel routes share for the life of the app, and the dependencies that hand it out.

Built by ``channels_lifespan`` (merged into the app's lifespan by ``include_router``) from, in order:
``app.state.wechat_settings`` / ``app.state.sms_settings`` when set (tests), else the environment;
the database is the app's (``app.state.settings.resolved_database_url``). The dialogue engine is
``app.state.channel_dialogue`` when set, else the app's ``GatedDialogue`` (``app.state.dialogue``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import sqlalchemy as sa
from alembic.util import CommandError
from fastapi import Depends, FastAPI, HTTPException, Request

from channels.base import DialogueEngine
from channels.config import SmsSettings, WeChatSettings
from channels.conversation import Conversation
from channels.masking import get_logger
from channels.sms_gateway import TencentSms
from channels.store import open_channel_store
from channels.wechat_api import WeChatAPI
from taxbot.settings import Settings

logger = get_logger(__name__)
DEDUP_RETENTION = timedelta(days=7)


@dataclass
class ChannelRuntime:
    wechat: WeChatSettings
    sms: SmsSettings
    conversation: Conversation | None
    wechat_api: WeChatAPI | None
    sms_gateway: TencentSms | None
    store_error: str = ""


def _database_url(app: FastAPI) -> str:
    settings = getattr(app.state, "settings", None)
    return (settings if isinstance(settings, Settings) else Settings()).resolved_database_url


@asynccontextmanager
async def channels_lifespan(app: FastAPI) -> AsyncIterator[None]:
    get_logger("httpx")  # httpx logs request URLs, and WeChat's carry the AppSecret and access_token
    wechat = getattr(app.state, "wechat_settings", None) or WeChatSettings()
    sms = getattr(app.state, "sms_settings", None) or SmsSettings()
    conversation: Conversation | None = None
    error = ""
    try:
        store = open_channel_store(_database_url(app))
        store.prune(DEDUP_RETENTION)
        conversation = Conversation(store)
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        error = f"渠道数据库不可用：{type(exc).__name__}"
        logger.error("channel store not opened, /wechat and /sms answer 503: %s", exc)
    wechat_api = None
    if wechat.app_id and wechat.app_secret:
        wechat_api = WeChatAPI(wechat.app_id, wechat.app_secret, base_url=wechat.api_base)
    sms_gateway = None
    if not sms.missing():
        sms_gateway = TencentSms(
            sms.secret_id, sms.secret_key, sdk_app_id=sms.sdk_app_id, sign_name=sms.sign_name,
            template_id=sms.template_id, region=sms.region, base_url=sms.api_base, timeout=sms.send_timeout,
        )  # fmt: skip
    for name, missing in (("WeChat", wechat.missing()), ("SMS", sms.missing())):
        if missing:
            logger.warning(
                "%s channel not configured (set %s); its routes answer 503", name, ", ".join(missing)
            )
    app.state.channels = ChannelRuntime(wechat, sms, conversation, wechat_api, sms_gateway, error)
    try:
        yield
    finally:
        if conversation is not None:
            await conversation.drain()
            conversation.store.close()
        if wechat_api is not None:
            await wechat_api.aclose()
        if sms_gateway is not None:
            await sms_gateway.aclose()


def get_runtime(request: Request) -> ChannelRuntime:
    runtime = getattr(request.app.state, "channels", None)
    if runtime is None:
        raise HTTPException(
            status_code=503, detail="消息渠道尚未启动（channels.routes.router 的 lifespan 未运行）。"
        )
    return runtime


def get_dialogue(request: Request) -> DialogueEngine:
    dialogue = getattr(request.app.state, "channel_dialogue", None)
    if dialogue is not None:
        return dialogue
    # the same gated path as /api/chat: masking, the handoff gate, the conversation log
    dialogue = getattr(request.app.state, "dialogue", None)
    if dialogue is None:
        raise HTTPException(status_code=503, detail="对话引擎未配置。")
    return dialogue


def require_conversation(runtime: ChannelRuntime) -> Conversation:
    if runtime.conversation is None:
        raise HTTPException(status_code=503, detail=runtime.store_error or "渠道数据库不可用。")
    return runtime.conversation


RuntimeDep = Annotated[ChannelRuntime, Depends(get_runtime)]
DialogueDep = Annotated[DialogueEngine, Depends(get_dialogue)]
