"""Messages pushed to a taxpayer outside a dialogue turn, through the channel the conversation came from.

``Delivery.deliver(conversation_id, text, role=...)`` first records the message as a turn (masked, answer
kind ``pushing``), then routes it by the conversation id and marks the turn ``pushed`` or ``push_failed``:

* web (the widget's random sender id): nothing to push — the widget polls ``/api/chat/{sender}/messages``;
* WeChat (``wechat:<openid>``): 客服消息 through ``WeChatAPI.send_text``, split into 2048-byte pieces. WeChat
  refuses them 48 hours after the user last wrote (errcode 45015);
* SMS (``sms-<pseudonym>``): to the number recorded when the taxpayer last wrote (``channel_addresses``),
  through the gateway it came by (Tencent Cloud or Twilio), cut to the channel's SMS limits like an answer
  (the rest kept for "全文"); never to a number that opted out (退订).

A failed delivery never raises: the result says why in Chinese for the agent, and the message stays in the
transcript. The text sent is the masked one, so an identifier typed by an agent leaves no copy anywhere.
Used by the staff's handoff desk; meant for any later push (policy subscriptions, queued answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from channels.masking import get_logger, mask
from channels.render import sms_pages, split_utf8
from channels.runtime import ChannelRuntime
from channels.sms_gateway import SmsGatewayError, TencentSms
from channels.wechat_api import TEXT_LIMIT_BYTES, WeChatAPIError
from taxbot.conversations.store import AGENT, PUSH_FAILED, PUSHED, PUSHING, ConversationStore

logger = get_logger(__name__)

WEB, WECHAT, SMS = "web", "wechat", "sms"
WECHAT_PREFIX, SMS_PREFIX = "wechat:", "sms-"
WECHAT_WINDOW_CLOSED = 45015  # 回复时间超过限制: the user has not written for 48 hours
CHANNEL_NAMES = {WEB: "网页", WECHAT: "微信公众号", SMS: "短信"}
PROBLEMS = {
    "not_configured": "{channel}渠道未配置，消息无法送达。",
    "wechat_window": "纳税人超过48小时未与公众号互动，微信不允许再主动发消息（45015），消息未送达。"
    "可在纳税人再次留言后回复，或请其拨打12366。",
    "wechat_refused": "微信拒绝了这条消息（{detail}），消息未送达，请稍后重试。",
    "no_address": "找不到这个短信会话的手机号码，消息无法送达。",
    "opted_out": "纳税人已退订短信，消息未发送。",
    "gateway": "短信网关发送失败（{detail}），消息未送达，请稍后重试。",
}


def channel_of(conversation_id: str) -> str:
    """web / wechat / sms, read from the conversation id the channels give (``channels`` package)."""
    if conversation_id.startswith(WECHAT_PREFIX):
        return WECHAT
    if conversation_id.startswith(SMS_PREFIX):
        return SMS
    return WEB


class SmsSender(Protocol):
    async def send(self, phone_number: str, text: str) -> str: ...


@dataclass(frozen=True)
class DeliveryResult:
    turn_id: int  # the message's turn in the conversation log
    channel: str  # web / wechat / sms
    delivered: bool  # pushed (web: ready for the widget)
    problem: str = ""  # a key of PROBLEMS when not delivered
    detail: str = ""  # the platform's error code, for the message
    parts: int = 0  # messages sent (SMS segments, WeChat pieces)

    @property
    def message(self) -> str:
        """What the agent is told, in Chinese."""
        if self.problem:
            name = CHANNEL_NAMES[self.channel]
            return "已记入对话记录，但" + PROBLEMS[self.problem].format(channel=name, detail=self.detail)
        if self.channel == WEB:
            return "已发送：纳税人的网页对话窗口会显示这条消息。"
        return f"已通过{CHANNEL_NAMES[self.channel]}发送（{self.parts} 条）。"


class Delivery:
    """One per app (``app.state.delivery``); the channel clients come from ``app.state.channels``."""

    def __init__(
        self,
        conversations: ConversationStore,
        channels: ChannelRuntime | None = None,
        sms_twilio: SmsSender | None = None,
    ) -> None:
        self.conversations = conversations
        self.channels = channels
        self.sms_twilio = sms_twilio

    async def deliver(self, conversation_id: str, text: str, *, role: str = AGENT) -> DeliveryResult:
        text = mask(text.strip())
        turn_id = await self.conversations.arecord_turn(conversation_id, role, text, answer_kind=PUSHING)
        channel = channel_of(conversation_id)
        if channel == WECHAT:
            result = await self._wechat(turn_id, conversation_id.removeprefix(WECHAT_PREFIX), text)
        elif channel == SMS:
            result = await self._sms(turn_id, conversation_id, text)
        else:
            result = DeliveryResult(turn_id, WEB, delivered=True, parts=1)
        await self.conversations.aset_answer_kind(turn_id, PUSHED if result.delivered else PUSH_FAILED)
        log = logger.info if result.delivered else logger.warning
        log("pushed %s turn %s to %s via %s: %s", role, turn_id, conversation_id, channel,
            "delivered" if result.delivered else f"{result.problem} {result.detail}")  # fmt: skip
        return result

    async def _wechat(self, turn_id: int, openid: str, text: str) -> DeliveryResult:
        api = self.channels.wechat_api if self.channels is not None else None
        if api is None:
            return DeliveryResult(turn_id, WECHAT, False, "not_configured")
        pieces = split_utf8(text, TEXT_LIMIT_BYTES)
        for sent, piece in enumerate(pieces):
            try:
                await api.send_text(openid, piece)
            except WeChatAPIError as exc:
                problem = "wechat_window" if exc.errcode == WECHAT_WINDOW_CLOSED else "wechat_refused"
                return DeliveryResult(turn_id, WECHAT, False, problem, f"错误码 {exc.errcode}", sent)
        return DeliveryResult(turn_id, WECHAT, True, parts=len(pieces))

    async def _sms(self, turn_id: int, conversation_id: str, text: str) -> DeliveryResult:
        runtime = self.channels
        found = await self.conversations.aaddress(conversation_id)
        if found is None:
            return DeliveryResult(turn_id, SMS, False, "no_address")
        _, phone, via = found
        gateway = self.sms_twilio if via == "twilio" else (runtime.sms_gateway if runtime else None)
        if runtime is None or runtime.conversation is None or gateway is None:
            return DeliveryResult(turn_id, SMS, False, "not_configured")
        store = runtime.conversation.store
        if await store.aopted_out(SMS, phone):
            return DeliveryResult(turn_id, SMS, False, "opted_out")
        settings = runtime.sms
        sign = len(f"【{settings.sign_name}】") if isinstance(gateway, TencentSms) else 0  # as channels.sms
        segments, rest = sms_pages(
            text, settings.segment_chars - sign, settings.concat_segment_chars - sign, settings.max_segments,
            f"…{settings.more_info}",
        )  # fmt: skip
        if rest:
            await store.aremember_full(SMS, phone, rest)  # "全文" sends it, as for a long answer
        for sent, segment in enumerate(segments):
            try:
                await gateway.send(phone, segment)
            except SmsGatewayError as exc:
                return DeliveryResult(turn_id, SMS, False, "gateway", exc.code, sent)
        return DeliveryResult(turn_id, SMS, True, parts=len(segments))


async def remember_address(state: Any, conversation_id: str, channel: str, address: str, via: str) -> None:
    """Record where pushes to ``conversation_id`` go (``state`` = ``app.state``, its conversation store);
    called by a channel as a message arrives. A broken store is logged and never stops the turn."""
    store: ConversationStore | None = getattr(state, "conversations", None)
    if store is None:
        return
    try:
        await store.aremember_address(conversation_id, channel, address, via)
    except sa.exc.SQLAlchemyError as exc:
        logger.error("address of %s not recorded, staff replies cannot reach it: %s", conversation_id, exc)
