"""Subscription commands typed in WeChat or by SMS, answered by the channel before the dialogue engine:

* ``订阅 增值税 小规模纳税人 北京`` (any order; 、，also separate; aliases such as 小规模, 个税, 沪 accepted)
  subscribes or replaces the profile; ``订阅`` alone subscribes to national policies of every kind;
* ``取消订阅`` stops the pushes (only them: SMS 退订 stops every SMS of the service, pushes included);
* ``我的订阅`` shows the profile.

"订阅" followed by other text without a space (``订阅号怎么关注``) is a question, left to the bot.
The channels find the store on ``app.state.subscriptions``; without it (the feature not mounted) nothing
is a command.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sqlalchemy as sa

from channels.masking import get_logger
from taxbot.subscriptions.profile import InvalidProfile, Profile, parse_words
from taxbot.subscriptions.store import SubscriptionStore

logger = get_logger(__name__)

UNSUBSCRIBE = frozenset({"取消订阅", "退订订阅", "取消政策订阅"})
SHOW = frozenset({"我的订阅", "查看订阅"})
_SUBSCRIBE = re.compile(r"^订阅(?:政策)?(?:(?P<spaced>[\s:：]+)(?P<rest>.*))?$", re.S)
USAGE = "发送“订阅 税种 纳税人类型 地区”定制政策推送，例如：订阅 增值税 小规模纳税人 北京。"
UNAVAILABLE = "政策订阅暂时不可用，请稍后再试。"


def _store(state: Any) -> SubscriptionStore | None:
    return getattr(state, "subscriptions", None)


def _limit(state: Any) -> int:
    settings = getattr(state, "subscription_settings", None)
    return getattr(settings, "daily_limit", 3)


def _subscribe_words(text: str) -> str | None:
    """The profile words of a subscribe command, or None when ``text`` is not one."""
    match = _SUBSCRIBE.match(text)
    if match:
        return match.group("rest") or ""
    if text.startswith("订阅") and len(text) > 2:  # 订阅增值税: a command only if every word is known
        try:
            parse_words(text[2:])
        except InvalidProfile:
            return None
        return text[2:]
    return None


def confirmation(profile: Profile, daily_limit: int) -> str:
    return (
        f"已订阅政策推送（{profile.describe()}）。有符合的新政策或问答发布时将通过本渠道通知您，"
        f"每天最多 {daily_limit} 条。回复“我的订阅”查看，回复“取消订阅”停止接收。"
    )


async def answer(state: Any, conversation_id: str, channel: str, text: str) -> str | None:
    """The reply to a subscription command from ``conversation_id``; None when ``text`` is not one."""
    store = _store(state)
    if store is None or not conversation_id:
        return None
    text = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！")
    words = _subscribe_words(text)
    if words is None and text not in UNSUBSCRIBE and text not in SHOW:
        return None
    try:
        if text in UNSUBSCRIBE:
            done = await store.aunsubscribe(conversation_id)
            return "已取消政策订阅，将不再推送。" if done else f"您当前没有政策订阅。{USAGE}"
        if text in SHOW:
            found = await store.aget(conversation_id)
            if found is None:
                return f"您当前没有政策订阅。{USAGE}"
            return f"您的政策订阅：{found.profile.describe()}。回复“取消订阅”停止接收。"
        try:
            profile = parse_words(words or "")
        except InvalidProfile as exc:
            return f"订阅未成功：{exc}{USAGE}"
        await store.asubscribe(conversation_id, channel, profile)
        return confirmation(profile, _limit(state))
    except sa.exc.SQLAlchemyError as exc:
        logger.error("subscription command of %s failed: %s", conversation_id, exc)
        return UNAVAILABLE


async def stop(state: Any, conversation_id: str) -> None:
    """SMS 退订: the number's subscription ends too (a later SMS lifts the opt-out, not the subscription)."""
    store = _store(state)
    if store is None or not conversation_id:
        return
    try:
        if await store.aunsubscribe(conversation_id):
            logger.info("subscription of %s ended by 退订", conversation_id)
    except sa.exc.SQLAlchemyError as exc:
        logger.error("subscription of %s not ended at 退订: %s", conversation_id, exc)
