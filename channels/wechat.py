"""WeChat Official Account (公众号) channel: ``GET /wechat`` (server check) and ``POST /wechat`` (messages).

Plaintext mode and secure mode (``encrypt_type=aes``, ``msg_signature``): wechatpy's ``WeChatCrypto``
decrypts and encrypts, wechatpy's parser and ``TextReply`` read and write the messages, by composition.
Every body is size-limited and parsed first with defusedxml, so the XML wechatpy sees has no DTD.

WeChat waits 5 seconds for the passive reply and retries the same MsgId up to three times. The bot
gets ``passive_reply_seconds`` (4 s); after that WeChat gets "success" at once and the answer follows
through the 客服消息 API. Replies longer than 2048 bytes go out as several messages.

An answer the bot shortened (Rasa's ``custom.full_answer``) ends with "回复“全文”查看完整答复" and, when
``document_base_url`` is set, a link to the cited document's view; the sender's later "全文" gets the
whole answer from the channel store, without a dialogue turn.

Rasa down or too slow: the passive reply (or 客服消息) is the queued notice, and the answer follows as a
客服消息 once Rasa is back (``taxbot.conversations.replay``); WeChat's retries of the MsgId stay duplicates.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import struct
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import BaseEvent, ClickEvent, SubscribeEvent, SubscribeScanEvent, UnsubscribeEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage, TextMessage, VoiceMessage
from wechatpy.parser import parse_message
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from channels import store
from channels.base import Button, DialogueEngine, InboundMessage
from channels.config import WeChatSettings
from channels.conversation import Conversation, Turn
from channels.http import parse_flat_xml, read_body
from channels.masking import get_logger
from channels.render import (
    FULL_TEXT_HINT,
    document_link,
    is_full_text_request,
    numbered_options,
    render_text,
    split_utf8,
)
from channels.runtime import ChannelRuntime, DialogueDep, RuntimeDep, require_conversation
from channels.wechat_api import TEXT_LIMIT_BYTES, WeChatAPIError
from taxbot.subscriptions import commands as subscription_commands

logger = get_logger(__name__)
router = APIRouter(prefix="/wechat", tags=["channels"])

CHANNEL = "wechat"
HOT_QUESTIONS_KEY = "HOT_QUESTIONS"
HUMAN_KEY = "HUMAN"
UNSUPPORTED = "目前仅支持文字咨询，请发送文字。"
VOICE_UNRECOGNISED = "抱歉，没有听清这段语音，请发送文字。"
NOTHING_MORE = "没有更多内容了。如需继续咨询，请直接发送您的问题。"
RATE_LIMITED = "您发送的消息过于频繁，请稍后再试。如需咨询，也可拨打12366纳税缴费服务热线。"
SUCCESS = "success"
MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


def _configured(runtime: ChannelRuntime, *, aes: bool = False, verify_only: bool = False) -> WeChatSettings:
    missing = runtime.wechat.missing(aes=aes, verify_only=verify_only)
    if missing:
        raise HTTPException(status_code=503, detail=f"微信公众号渠道未配置：请设置 {', '.join(missing)}。")
    return runtime.wechat


def _check(token: str, signature: str, timestamp: str, nonce: str, what: str = "signature") -> None:
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException:
        logger.warning("wechat %s check failed (timestamp=%s)", what, timestamp)
        raise HTTPException(status_code=403, detail=f"微信 {what} 校验失败。") from None


def _crypto(settings: WeChatSettings) -> WeChatCrypto:
    try:
        key = base64.b64decode(settings.encoding_aes_key + "=", validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise HTTPException(
            status_code=503, detail="TAXBOT_WECHAT_ENCODING_AES_KEY 不是有效的 43 位 EncodingAESKey。"
        )
    return WeChatCrypto(settings.token, settings.encoding_aes_key, settings.app_id)


def _decrypt(
    crypto: WeChatCrypto, outer: dict[str, str], msg_signature: str, timestamp: str, nonce: str
) -> str:
    if not outer.get("Encrypt"):
        raise HTTPException(status_code=400, detail="安全模式的消息缺少 Encrypt 字段。")
    try:
        return crypto.decrypt_message({"Encrypt": outer["Encrypt"]}, msg_signature, timestamp, nonce)
    except InvalidSignatureException:
        logger.warning("wechat msg_signature check failed (timestamp=%s)", timestamp)
        raise HTTPException(status_code=403, detail="微信 msg_signature 校验失败。") from None
    except InvalidAppIdException:
        raise HTTPException(status_code=400, detail="密文中的 AppID 与配置不符。") from None
    except (ValueError, struct.error, IndexError):
        raise HTTPException(status_code=400, detail="无法解密 Encrypt 字段。") from None


def _inbound(message: BaseMessage, fields: dict[str, str]) -> InboundMessage:
    created = fields.get("CreateTime", "")
    # WeChat's own dedup rule: MsgId for messages, FromUserName + CreateTime for events
    message_id = fields.get("MsgId") or f"{message.source}:{created}:{fields.get('Event', '')}"
    text = fields.get("Content") or fields.get("Recognition") or ""
    stamp = datetime.now(UTC)
    if created.isdigit() and int(created) <= MAX_TIMESTAMP:  # a CreateTime no datetime can hold: now
        stamp = datetime.fromtimestamp(int(created), UTC)
    metadata = {"msg_type": message.type}
    return InboundMessage(CHANNEL, message.source, text.strip(), message_id, stamp, metadata)


def _reply_xml(message: BaseMessage, content: str) -> str:
    safe = content.replace("]]>", "]]]]><![CDATA[>")  # keep the CDATA section closed only where it should
    return TextReply(message=message, content=safe, time=int(time.time())).render()


@router.get("", response_class=PlainTextResponse, responses={403: {}, 503: {}})
async def verify(
    runtime: RuntimeDep, signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
) -> str:
    """服务器配置校验: echo ``echostr`` when ``signature`` = sha1(sorted(token, timestamp, nonce))."""
    settings = _configured(runtime, verify_only=True)
    _check(settings.token, signature, timestamp, nonce)
    return echostr


@router.post("", responses={400: {}, 403: {}, 413: {}, 503: {}})
async def receive(
    request: Request,
    runtime: RuntimeDep,
    dialogue: DialogueDep,
    signature: str = "",
    timestamp: str = "",
    nonce: str = "",
    encrypt_type: str = "raw",
    msg_signature: str = "",
) -> Response:
    """A message or event pushed by WeChat; answers reply XML (encrypted in AES mode) or "success"."""
    deadline = asyncio.get_running_loop().time() + runtime.wechat.passive_reply_seconds
    aes = encrypt_type.lower() == "aes"
    settings = _configured(runtime, aes=aes)
    conversation = require_conversation(runtime)
    _check(settings.token, signature, timestamp, nonce)
    body = await read_body(request, settings.max_body_bytes)
    fields = parse_flat_xml(body)
    crypto = _crypto(settings) if aes else None
    try:
        xml = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(status_code=400, detail="消息不是 UTF-8 编码。") from None
    if crypto is not None:
        xml = _decrypt(crypto, fields, msg_signature, timestamp, nonce)
        fields = parse_flat_xml(xml.encode("utf-8"))
    if not fields.get("MsgType") or not fields.get("FromUserName"):
        raise HTTPException(status_code=400, detail="消息缺少 MsgType 或 FromUserName。")
    message = parse_message(xml)  # safe: defusedxml has just refused any DTD in this very text
    inbound = _inbound(message, fields)
    seen = await conversation.claim(inbound)
    if seen is not None:
        reply = seen.reply if seen.status == store.REPLIED else None
    else:
        try:
            reply = await _turn(
                runtime, conversation, dialogue, message, inbound, deadline, request.app.state
            )
        except Exception:  # the webhook edge: log, tell WeChat "success" so the user sees no error page
            logger.exception("wechat ref=%s failed", inbound.ref)
            await conversation.store.afinish(CHANNEL, inbound.message_id, store.FAILED)
            reply = None
    if not reply:
        return PlainTextResponse(SUCCESS)
    reply_xml = _reply_xml(message, reply)
    if crypto is not None:
        reply_xml = crypto.encrypt_message(reply_xml, nonce, timestamp)
    return Response(content=reply_xml, media_type="application/xml")


async def _turn(
    runtime: ChannelRuntime,
    conversation: Conversation,
    dialogue: DialogueEngine,
    message: BaseMessage,
    inbound: InboundMessage,
    deadline: float,
    state: Any = None,
) -> str | None:
    """The passive reply for this message (None = "success"), recording how it was handled."""
    settings = runtime.wechat
    text: str | None = None
    if isinstance(message, UnsubscribeEvent):
        await conversation.offer(inbound, ())
        return await _finish(conversation, inbound, None)
    if isinstance(message, SubscribeEvent | SubscribeScanEvent):
        return await _offer_hot_questions(conversation, inbound, settings.welcome, settings.hot_questions)
    if isinstance(message, ClickEvent) and message.key == HOT_QUESTIONS_KEY:
        return await _offer_hot_questions(conversation, inbound, "热门问题：", settings.hot_questions)
    if isinstance(message, ClickEvent) and message.key == HUMAN_KEY:
        text = settings.human_handoff_text
    elif isinstance(message, VoiceMessage) and not inbound.text:
        return await _finish(conversation, inbound, VOICE_UNRECOGNISED)
    elif isinstance(message, BaseEvent):
        return await _finish(conversation, inbound, None)  # menu links, location reports, scans…
    elif not isinstance(message, TextMessage | VoiceMessage) or not inbound.text:
        return await _finish(conversation, inbound, UNSUPPORTED)
    elif is_full_text_request(inbound.text):
        full = await conversation.store.atake_full(CHANNEL, inbound.sender_id)
        return await _reply_pieces(runtime, conversation, inbound, full or NOTHING_MORE)
    elif (
        command := await subscription_commands.answer(
            state, f"{CHANNEL}:{inbound.sender_id}", CHANNEL, inbound.text
        )
    ) is not None:
        return await _reply_pieces(runtime, conversation, inbound, command)  # 订阅 / 取消订阅 / 我的订阅
    if (verdict := await _rate_limit(state, inbound)) != "ok":
        # over the per-conversation limit: one notice, then "success" (silence) until the minute has room
        return await _finish(conversation, inbound, RATE_LIMITED if verdict == "notice" else None)
    task = asyncio.create_task(conversation.respond_turn(inbound, dialogue, text))
    await asyncio.wait({task}, timeout=max(deadline - asyncio.get_running_loop().time(), 0.0))
    if not task.done():
        logger.info("wechat ref=%s: the bot is slow, answering via 客服消息", inbound.ref)
        conversation.spawn(_deliver_later(runtime, conversation, inbound, task), f"wechat-{inbound.ref}")
        return None
    text = await _text(settings, conversation, inbound, task.result())
    return await _reply_pieces(runtime, conversation, inbound, text)


async def _rate_limit(state: Any, inbound: InboundMessage) -> str:
    """The per-conversation message limit of the web chat (``TAXBOT_CHAT_RATE_LIMIT_PER_MINUTE``), per
    openid: WeChat's callbacks all come from Tencent's servers, so an address limit would limit everyone.
    No limiters (an app without the chat routes): "ok"."""
    limiter = getattr(getattr(state, "rate_limits", None), "chat", None)
    return "ok" if limiter is None else await limiter.acheck(f"{CHANNEL}:{inbound.sender_id}")


async def _text(
    settings: WeChatSettings, conversation: Conversation, inbound: InboundMessage, turn: Turn
) -> str:
    """The answer as text; a shortened one ends with the "全文" hint (and the document link) and its whole
    text is kept for "全文" (an answer given whole forgets the previous one)."""
    text = render_text(turn.outbound)
    await conversation.store.aremember_full(CHANNEL, inbound.sender_id, turn.full_answer)
    if not turn.full_answer:
        return text
    lines = [text] if FULL_TEXT_HINT in text else [text, FULL_TEXT_HINT]
    link = document_link(settings.document_base_url, turn.doc_id, turn.article)
    if link:
        lines.append(f"原文：{link}")
    return "\n".join(lines)


async def _reply_pieces(
    runtime: ChannelRuntime, conversation: Conversation, inbound: InboundMessage, text: str
) -> str | None:
    """The first 2048-byte piece as the passive reply, the rest through 客服消息."""
    pieces = split_utf8(text, TEXT_LIMIT_BYTES)
    if len(pieces) > 1:
        conversation.spawn(_push(runtime, inbound, pieces[1:]), f"wechat-rest-{inbound.ref}")
    return await _finish(conversation, inbound, pieces[0] if pieces else None)


async def _finish(conversation: Conversation, inbound: InboundMessage, reply: str | None) -> str | None:
    status = store.REPLIED if reply else store.DONE
    await conversation.store.afinish(CHANNEL, inbound.message_id, status, reply)
    return reply


async def _offer_hot_questions(
    conversation: Conversation, inbound: InboundMessage, intro: str, questions: list[str]
) -> str | None:
    buttons = tuple(Button(question, question) for question in questions[:5])
    await conversation.offer(inbound, buttons)
    text = f"{intro}\n{numbered_options(buttons)}" if buttons else intro
    return await _finish(conversation, inbound, text)


async def _deliver_later(
    runtime: ChannelRuntime,
    conversation: Conversation,
    inbound: InboundMessage,
    task: asyncio.Task[Turn],
) -> None:
    text = await _text(runtime.wechat, conversation, inbound, await task)
    delivered = await _push(runtime, inbound, split_utf8(text, TEXT_LIMIT_BYTES))
    await conversation.store.afinish(CHANNEL, inbound.message_id, store.PUSHED if delivered else store.FAILED)


async def _push(runtime: ChannelRuntime, inbound: InboundMessage, pieces: list[str]) -> bool:
    """Send ``pieces`` in order through 客服消息; False (logged) when WeChat refuses."""
    if runtime.wechat_api is None:
        logger.error("wechat ref=%s: no AppID/AppSecret, the answer cannot be delivered", inbound.ref)
        return False
    for piece in pieces:
        try:
            await runtime.wechat_api.send_text(inbound.sender_id, piece)
        except WeChatAPIError as exc:
            logger.error("wechat ref=%s: 客服消息 refused: %s", inbound.ref, exc)
            return False
    logger.info("wechat ref=%s: %d message(s) delivered via 客服消息", inbound.ref, len(pieces))
    return True
