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

Limits: an answer of up to 70 characters (``segment_chars``, 【签名】 included) is one SMS; a longer one
goes in parts of 67 (``concat_segment_chars``: the concatenation header takes the rest), at most
``max_segments`` of them, cut with "…回复“全文”查看完整答复"; the sender's "全文" then sends the rest
(kept in the channel store, no dialogue turn). A number gets at most ``rate_limit_per_minute``
answers a minute; beyond that one polite notice, then silence until the minute has passed.

Twilio-style gateway: ``POST /sms/inbound/twilio`` (form ``From``, ``To``, ``Body``, ``MessageSid``,
``X-Twilio-Signature`` checked, see ``channels.sms_twilio``), answered through the Messages API; dedup by
MessageSid, the same opt-out words, limits and "全文".

Rasa down: the SMS sent is the queued notice; the answer follows through ``taxbot.delivery`` to the number
recorded for the conversation once Rasa is back (``taxbot.conversations.replay``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field, ValidationError

from channels import store
from channels.base import DialogueEngine, InboundMessage
from channels.config import SmsSettings
from channels.conversation import Conversation
from channels.http import read_body
from channels.masking import get_logger
from channels.rate_limit import RateLimiter, RedisRateLimiter
from channels.render import FULL_TEXT_HINT, is_full_text_request, render_text, sms_pages
from channels.runtime import ChannelRuntime, DialogueDep, RuntimeDep, require_conversation
from channels.sms_gateway import SmsGatewayError, TencentSms
from channels.sms_twilio import TwilioSms, valid_signature
from taxbot.delivery import remember_address
from taxbot.settings import Settings
from taxbot.subscriptions import commands as subscription_commands

logger = get_logger(__name__)

CHANNEL = "sms"
STOP_WORDS = frozenset({"TD", "T", "退订", "STOP", "UNSUBSCRIBE"})
OPTOUT_CONFIRMATION = "您已退订12366智能咨询短信，将不再收到本服务短信。如需咨询，直接回复您的问题即可。"
OK = {"result": 0, "errmsg": "OK"}
NOTHING_MORE = "没有更多内容了。如需继续咨询，请直接回复您的问题。"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class Gateway(Protocol):
    async def send(self, phone_number: str, text: str) -> str: ...


@asynccontextmanager
async def sms_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """After ``channels_lifespan`` (the outer one): the Twilio client and the per-number rate limiter."""
    runtime = getattr(app.state, "channels", None)
    settings: SmsSettings = runtime.sms if runtime is not None else SmsSettings()
    twilio = None
    if not settings.twilio_missing():
        twilio = TwilioSms(
            settings.twilio_account_sid, settings.twilio_auth_token, sender=settings.twilio_from,
            base_url=settings.twilio_api_base, timeout=settings.send_timeout, retries=settings.send_retries,
            backoff=settings.retry_backoff,
        )  # fmt: skip
    app.state.sms_twilio = twilio
    app_settings = getattr(app.state, "settings", None)
    redis_url = app_settings.redis_url if isinstance(app_settings, Settings) else ""
    limiter = (  # several app replicas share the counts in Redis; one process keeps them in memory
        RedisRateLimiter.from_url(redis_url, settings.rate_limit_per_minute)
        if redis_url
        else RateLimiter(settings.rate_limit_per_minute)
    )
    app.state.sms_limiter = limiter
    try:
        yield
    finally:
        if twilio is not None:
            await twilio.aclose()
        if isinstance(limiter, RedisRateLimiter):
            limiter.close()


router = APIRouter(prefix="/sms", tags=["channels"], lifespan=sms_lifespan)


class TencentSmsReply(BaseModel):
    """The 回复短信 callback of Tencent Cloud SMS."""

    extend: str | None = None
    mobile: str
    nationcode: str = "86"
    sign: str = ""
    text: str
    time: int = Field(ge=0, le=253402300799)  # Unix seconds, up to 9999-12-31 (what a datetime holds)


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
    await _handle(request, runtime, conversation, dialogue, message, runtime.sms_gateway)
    return OK


@router.post("/inbound/twilio", responses={400: {}, 403: {}, 413: {}, 503: {}})
async def inbound_twilio(request: Request, runtime: RuntimeDep, dialogue: DialogueDep) -> Response:
    """A taxpayer's SMS through a Twilio-style gateway: empty TwiML at once, the answer via the API."""
    settings = runtime.sms
    missing = settings.twilio_missing()
    if missing:
        detail = f"短信渠道（Twilio）未配置：请设置 {', '.join(missing)}。"
        raise HTTPException(status_code=503, detail=detail)
    conversation = require_conversation(runtime)
    body = await read_body(request, settings.max_body_bytes)
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(status_code=400, detail="短信回调格式错误：不是表单数据。") from None
    fields = dict(params)
    url = settings.twilio_webhook_url or str(request.url)
    signature = request.headers.get("x-twilio-signature", "")
    if not valid_signature(settings.twilio_auth_token, url, params, signature):
        client_ip = request.client.host if request.client else ""
        logger.warning("sms twilio webhook from %s (From %s) refused: %s X-Twilio-Signature", client_ip,
                       fields.get("From", "?"), "wrong" if signature else "missing")  # fmt: skip
        raise HTTPException(status_code=403, detail="X-Twilio-Signature 校验失败。")
    if not fields.get("From") or not fields.get("MessageSid"):
        raise HTTPException(status_code=400, detail="短信回调格式错误：缺少 From 或 MessageSid。")
    phone = fields["From"]
    key = settings.callback_token or settings.twilio_auth_token  # the same pseudonym as the Tencent path
    message = InboundMessage(
        channel=CHANNEL,
        sender_id=phone,
        text=fields.get("Body", "").strip(),
        message_id=f"twilio:{fields['MessageSid']}",
        metadata={"conversation_id": conversation_id(phone, key)},
    )
    await _handle(request, runtime, conversation, dialogue, message, request.app.state.sms_twilio)
    return Response(content=EMPTY_TWIML, media_type="text/xml")


async def _handle(
    request: Request,
    runtime: ChannelRuntime,
    conversation: Conversation,
    dialogue: DialogueEngine,
    message: InboundMessage,
    gateway: Gateway | None,
) -> None:
    if await conversation.claim(message) is not None:
        return
    via = "twilio" if isinstance(gateway, TwilioSms) else "tencent"  # staff replies go back the same way
    pseudonym = message.metadata["conversation_id"]
    await remember_address(request.app.state, pseudonym, CHANNEL, message.sender_id, via)
    try:
        state = request.app.state
        await _accept(runtime, conversation, dialogue, message, gateway, state.sms_limiter, state)
    except Exception:  # the webhook edge: acknowledge so the gateway does not retry a broken message
        logger.exception("sms ref=%s failed", message.ref)
        await conversation.store.afinish(CHANNEL, message.message_id, store.FAILED)


async def _accept(
    runtime: ChannelRuntime,
    conversation: Conversation,
    dialogue: DialogueEngine,
    message: InboundMessage,
    gateway: Gateway | None,
    limiter: RateLimiter,
    state: Any = None,
) -> None:
    pseudonym = message.metadata.get("conversation_id", "")
    if is_stop_word(message.text):
        await subscription_commands.stop(state, pseudonym)  # 退订 ends policy pushes too
        first = await conversation.store.aopt_out(CHANNEL, message.sender_id)
        await conversation.offer(message, ())
        await conversation.store.afinish(CHANNEL, message.message_id, store.DONE)
        logger.info(
            "sms ref=%s: %s unsubscribed%s", message.ref, message.sender_id, "" if first else " again"
        )
        if first:
            conversation.spawn(
                _send(runtime, gateway, message, [OPTOUT_CONFIRMATION], force=True), f"sms-td-{message.ref}"
            )
        return
    if not message.text:
        await conversation.store.afinish(CHANNEL, message.message_id, store.DONE)
        return
    if await conversation.store.aopt_in(CHANNEL, message.sender_id):
        logger.info("sms ref=%s: %s wrote again, opt-out lifted", message.ref, message.sender_id)
    verdict = limiter.check(message.sender_id)
    if verdict != "ok":
        logger.info("sms ref=%s: %s over the rate limit (%s)", message.ref, message.sender_id, verdict)
        await conversation.store.afinish(CHANNEL, message.message_id, store.DONE)
        if verdict == "notice":
            notice = [runtime.sms.rate_limit_notice]
            conversation.spawn(_send(runtime, gateway, message, notice), f"sms-limit-{message.ref}")
        return
    command = await subscription_commands.answer(state, pseudonym, CHANNEL, message.text)
    if command is not None:  # 订阅 / 取消订阅 / 我的订阅
        await conversation.store.afinish(CHANNEL, message.message_id, store.DONE)
        segments, _ = _pages(runtime.sms, command, gateway)
        conversation.spawn(_send(runtime, gateway, message, segments), f"sms-sub-{message.ref}")
        return
    if is_full_text_request(message.text):
        conversation.spawn(_full_text(runtime, conversation, gateway, message), f"sms-full-{message.ref}")
        return
    conversation.spawn(_answer(runtime, conversation, dialogue, gateway, message), f"sms-{message.ref}")


def _pages(settings: SmsSettings, text: str, gateway: Gateway | None) -> tuple[list[str], str]:
    """The SMS for ``text`` within the limits, and the rest kept for "全文"."""
    sign = len(f"【{settings.sign_name}】") if isinstance(gateway, TencentSms) else 0  # Tencent prefixes it
    return sms_pages(
        text, settings.segment_chars - sign, settings.concat_segment_chars - sign, settings.max_segments,
        f"…{settings.more_info}",
    )  # fmt: skip


async def _answer(
    runtime: ChannelRuntime,
    conversation: Conversation,
    dialogue: DialogueEngine,
    gateway: Gateway | None,
    message: InboundMessage,
) -> None:
    turn = await conversation.respond_turn(message, dialogue)
    text = render_text(turn.outbound)
    if turn.full_answer and FULL_TEXT_HINT not in text:
        text = f"{text}\n{FULL_TEXT_HINT}"  # the bot shortened it: "全文" sends the whole answer
    segments, rest = _pages(runtime.sms, text, gateway)
    await conversation.store.aremember_full(CHANNEL, message.sender_id, turn.full_answer or rest)
    sent = await _send(runtime, gateway, message, segments)
    await conversation.store.afinish(CHANNEL, message.message_id, store.PUSHED if sent else store.FAILED)


async def _full_text(
    runtime: ChannelRuntime, conversation: Conversation, gateway: Gateway | None, message: InboundMessage
) -> None:
    """ "全文": the kept rest of the last shortened answer, no dialogue turn; any further rest is kept."""
    kept = await conversation.store.atake_full(CHANNEL, message.sender_id)
    segments, rest = _pages(runtime.sms, kept, gateway) if kept else ([NOTHING_MORE], "")
    await conversation.store.aremember_full(CHANNEL, message.sender_id, rest)
    sent = await _send(runtime, gateway, message, segments)
    await conversation.store.afinish(CHANNEL, message.message_id, store.PUSHED if sent else store.FAILED)


async def _send(
    runtime: ChannelRuntime,
    gateway: Gateway | None,
    message: InboundMessage,
    segments: list[str],
    force: bool = False,
) -> bool:
    """Send each segment in order; stops if the number opts out meanwhile (unless ``force``)."""
    if gateway is None or runtime.conversation is None:
        logger.error("sms ref=%s: no gateway configured, answer dropped", message.ref)
        return False
    for segment in segments:
        if not force and await runtime.conversation.store.aopted_out(CHANNEL, message.sender_id):
            logger.info("sms ref=%s: %s opted out, not sending", message.ref, message.sender_id)
            return False
        try:
            await gateway.send(message.sender_id, segment)
        except SmsGatewayError as exc:
            logger.error("sms ref=%s to %s: sending failed: %s", message.ref, message.sender_id, exc)
            return False
    logger.info("sms ref=%s: %d SMS sent to %s", message.ref, len(segments), message.sender_id)
    return True
