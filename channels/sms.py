"""SMS channel on Tencent Cloud SMS (腾讯云短信): ``POST /sms/inbound`` is the 回复短信 (reply) callback.

Gateway: Tencent Cloud SMS, the only one spoken here. The callback body is
``{"extend": "", "mobile": "13…", "nationcode": "86", "sign": "…", "text": "…", "time": 1457336869}`` and
the gateway expects ``{"result": 0, "errmsg": "OK"}``. The callback carries no signature, so it is
authenticated by a shared secret in the URL (``?token=``, configured with the callback URL in the
console) and, optionally, a source IP allow-list. Answers go out through ``SendSms``
(``channels.sms_gateway``) after the callback has been acknowledged.

Limits: one SMS holds ``segment_chars`` (70) characters, 【签名】 included; answers are split into at
most ``max_segments`` SMS and cut with a pointer to 12366 beyond that; buttons become "回复1：…".
退订: "TD", "T", "退订", "STOP" or "UNSUBSCRIBE" unsubscribes the number; it gets one confirmation
and nothing more until it texts again (which lifts the opt-out).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ValidationError

from channels import store
from channels.base import DialogueEngine, InboundMessage
from channels.config import SmsSettings
from channels.conversation import Conversation
from channels.http import read_body
from channels.masking import get_logger
from channels.render import render_text, sms_segments
from channels.runtime import ChannelRuntime, DialogueDep, RuntimeDep, require_conversation
from channels.sms_gateway import SmsGatewayError

logger = get_logger(__name__)
router = APIRouter(prefix="/sms", tags=["channels"])

CHANNEL = "sms"
STOP_WORDS = frozenset({"TD", "T", "退订", "STOP", "UNSUBSCRIBE"})
OPTOUT_CONFIRMATION = "您已退订12366智能咨询短信，将不再收到本服务短信。如需咨询，直接回复您的问题即可。"
OK = {"result": 0, "errmsg": "OK"}


class TencentSmsReply(BaseModel):
    """The 回复短信 callback of Tencent Cloud SMS."""

    extend: str | None = None
    mobile: str
    nationcode: str = "86"
    sign: str = ""
    text: str
    time: int


def _configured(runtime: ChannelRuntime) -> SmsSettings:
    missing = runtime.sms.missing()
    if missing:
        raise HTTPException(status_code=503, detail=f"短信渠道未配置：请设置 {', '.join(missing)}。")
    return runtime.sms


def _authenticate(request: Request, settings: SmsSettings) -> None:
    client_ip = request.client.host if request.client else ""
    if settings.allowed_ips and client_ip not in settings.allowed_ips:
        logger.warning("sms callback from %s refused: not in TAXBOT_SMS_ALLOWED_IPS", client_ip)
        raise HTTPException(status_code=403, detail="来源地址不在短信回调白名单内。")
    token = request.query_params.get("token", "")
    if not hmac.compare_digest(token.encode(), settings.callback_token.encode()):
        logger.warning("sms callback from %s refused: wrong token", client_ip)
        raise HTTPException(status_code=403, detail="短信回调 token 校验失败。")


def is_stop_word(text: str) -> bool:
    return unicodedata.normalize("NFKC", text).strip().strip("。.!！").upper() in STOP_WORDS


def conversation_id(phone: str, key: str) -> str:
    """A stable pseudonym for the dialogue engine, so Rasa's trackers and logs hold no phone numbers."""
    return "sms-" + hmac.new(key.encode(), phone.encode(), hashlib.sha256).hexdigest()[:24]


@router.post("/inbound", responses={400: {}, 403: {}, 413: {}, 503: {}})
async def inbound(request: Request, runtime: RuntimeDep, dialogue: DialogueDep) -> dict[str, Any]:
    """A taxpayer's SMS; acknowledged at once, answered through SendSms in the background."""
    settings = _configured(runtime)
    conversation = require_conversation(runtime)
    _authenticate(request, settings)
    body = await read_body(request, settings.max_body_bytes)
    try:
        reply = TencentSmsReply.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "不是有效的 JSON"
        raise HTTPException(status_code=400, detail=f"短信回调格式错误：{detail}") from None
    phone = f"+{reply.nationcode.lstrip('+')}{reply.mobile}"
    text_hash = hashlib.sha1(reply.text.encode()).hexdigest()[:12]
    message = InboundMessage(
        channel=CHANNEL,
        sender_id=phone,
        text=reply.text.strip(),
        message_id=f"{phone}:{reply.time}:{text_hash}",  # the callback has no id; a retry repeats all three
        timestamp=datetime.fromtimestamp(reply.time, UTC),
        metadata={"conversation_id": conversation_id(phone, settings.callback_token)},
    )
    if await conversation.claim(message) is not None:
        return OK
    try:
        await _accept(runtime, conversation, dialogue, message)
    except Exception:  # the webhook edge: acknowledge so the gateway does not retry a broken message
        logger.exception("sms ref=%s failed", message.ref)
        await conversation.store.afinish(CHANNEL, message.message_id, store.FAILED)
    return OK


async def _accept(
    runtime: ChannelRuntime, conversation: Conversation, dialogue: DialogueEngine, message: InboundMessage
) -> None:
    if is_stop_word(message.text):
        first = await conversation.store.aopt_out(CHANNEL, message.sender_id)
        await conversation.offer(message, ())
        await conversation.store.afinish(CHANNEL, message.message_id, store.DONE)
        logger.info(
            "sms ref=%s: %s unsubscribed%s", message.ref, message.sender_id, "" if first else " again"
        )
        if first:
            conversation.spawn(
                _send(runtime, message, [OPTOUT_CONFIRMATION], force=True), f"sms-td-{message.ref}"
            )
        return
    if not message.text:
        await conversation.store.afinish(CHANNEL, message.message_id, store.DONE)
        return
    if await conversation.store.aopt_in(CHANNEL, message.sender_id):
        logger.info("sms ref=%s: %s wrote again, opt-out lifted", message.ref, message.sender_id)
    conversation.spawn(_answer(runtime, conversation, dialogue, message), f"sms-{message.ref}")


async def _answer(
    runtime: ChannelRuntime, conversation: Conversation, dialogue: DialogueEngine, message: InboundMessage
) -> None:
    outbound = await conversation.respond(message, dialogue)
    settings = runtime.sms
    budget = settings.segment_chars - len(f"【{settings.sign_name}】")
    segments = sms_segments(render_text(outbound), budget, settings.max_segments, settings.more_info)
    sent = await _send(runtime, message, segments)
    await conversation.store.afinish(CHANNEL, message.message_id, store.PUSHED if sent else store.FAILED)


async def _send(
    runtime: ChannelRuntime, message: InboundMessage, segments: list[str], force: bool = False
) -> bool:
    """SendSms each segment in order; stops if the number opts out meanwhile (unless ``force``)."""
    if runtime.sms_gateway is None or runtime.conversation is None:
        logger.error("sms ref=%s: no gateway configured, answer dropped", message.ref)
        return False
    for segment in segments:
        if not force and await runtime.conversation.store.aopted_out(CHANNEL, message.sender_id):
            logger.info("sms ref=%s: %s opted out, not sending", message.ref, message.sender_id)
            return False
        try:
            await runtime.sms_gateway.send(message.sender_id, segment)
        except SmsGatewayError as exc:
            logger.error("sms ref=%s to %s: SendSms failed: %s", message.ref, message.sender_id, exc)
            return False
    logger.info("sms ref=%s: %d SMS sent to %s", message.ref, len(segments), message.sender_id)
    return True
