"""Subscription commands through the real `/wechat` and `/sms/inbound` routes, and the pushes that follow
through the fake WeChat 客服消息 API and Tencent Cloud SendSms (their wire formats); SMS 退订 ends pushes."""

from __future__ import annotations

from taxbot.subscriptions.profile import Profile
from tests.channels.conftest import OPENID, signed_query
from tests.channels.test_wechat import reply_text
from tests.subscriptions.conftest import publish_faq, run_round

SMS_CALLBACK = "/sms/inbound?token=cb-token-12366"
PHONE = "+8613800138000"


def wechat_text(client, text: str, msg_id: int) -> str:
    xml = (
        f"<xml><ToUserName><![CDATA[gh_12366tax0001]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>1796284800</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    return reply_text(client.post(f"/wechat?{signed_query()}", content=xml.encode()))


def sms(client, text: str, time: int) -> None:
    """An SMS from the taxpayer; returns once the channel's background sends are done."""
    body = {"extend": "", "mobile": "13800138000", "nationcode": "86", "sign": "12366智能咨询", "text": text,
            "time": time}  # fmt: skip
    assert client.post(SMS_CALLBACK, json=body).json() == {"result": 0, "errmsg": "OK"}
    client.portal.call(client.app.state.channels.conversation.drain)


def received(gateway, since: int = 0) -> str:
    """The SMS sent since the ``since``-th request, their texts joined (long ones come in parts)."""
    return "".join(gateway.texts[since:])


def test_wechat_commands_and_the_push_by_customer_service_message(client, agent, reviewer, wechat_api):
    reply = wechat_text(client, "订阅 增值税 小规模 北京", 1)
    assert reply.startswith("已订阅政策推送（税种：增值税；纳税人类型：小规模纳税人；地区：北京市）")
    assert "每天最多 2 条" in reply
    assert "订阅未成功：无法识别：火星税" in wechat_text(client, "订阅 火星税", 2)
    assert wechat_text(client, "我的订阅", 3) == (
        "您的政策订阅：税种：增值税；纳税人类型：小规模纳税人；地区：北京市。回复“取消订阅”停止接收。"
    )
    assert client.app.state.channel_dialogue.calls == []  # none of these went to the bot
    assert wechat_text(client, "订阅号怎么关注？", 4) == "答：订阅号怎么关注？"  # a question, not a command
    publish_faq(client, agent, reviewer, question="小规模纳税人增值税减免", tax_types=["增值税"])
    assert run_round(client) == 1
    (push,) = wechat_api.sent
    assert push["touser"] == OPENID and push["msgtype"] == "text"
    assert push["text"]["content"].startswith("【政策订阅】新发布问答：《小规模纳税人增值税减免》")
    assert wechat_text(client, "取消订阅", 5) == "已取消政策订阅，将不再推送。"
    publish_faq(client, agent, reviewer, question="增值税小规模纳税人申报", tax_types=["增值税"])
    assert run_round(client) == 0 and len(wechat_api.sent) == 1
    log = client.get("/api/staff/subscriptions", headers=agent)
    assert OPENID not in log.text and log.json()["pushes"][0]["to"].startswith("微信公众号-")


def test_sms_commands_push_and_unsubscribe(client, agent, reviewer, sms_gateway) -> None:
    sms(client, "订阅 增值税", 1)
    assert "已订阅政策推送（税种：增值税；" in received(sms_gateway)
    before = len(sms_gateway.requests)
    publish_faq(client, agent, reviewer, question="增值税发票问题", tax_types=["增值税"])
    assert run_round(client) == 1
    assert sms_gateway.requests[before]["PhoneNumberSet"] == [PHONE]
    assert "【政策订阅】新发布问答：《增值税发票问题》" in received(sms_gateway, before)
    before = len(sms_gateway.requests)
    sms(client, "取消订阅", 2)  # subscriptions only: the number can still ask questions
    assert received(sms_gateway, before) == "已取消政策订阅，将不再推送。"
    publish_faq(client, agent, reviewer, question="增值税申报问题", tax_types=["增值税"])
    assert run_round(client) == 0 and len(sms_gateway.requests) == before + 1
    assert client.app.state.channel_dialogue.calls == []
    sms(client, "增值税税率是多少", 3)
    assert client.app.state.channel_dialogue.messages == ["增值税税率是多少"]


def test_sms_opt_out_ends_subscription_pushes(client, agent, reviewer, sms_gateway) -> None:
    sms(client, "订阅", 1)  # national policies of every kind
    sms(client, "TD", 2)
    assert sms_gateway.texts[-1].startswith("您已退订")
    assert client.app.state.subscriptions.active() == []
    before = len(sms_gateway.requests)
    publish_faq(client, agent, reviewer, question="个人所得税汇算新规", tax_types=["个人所得税"])
    assert run_round(client) == 0 and len(sms_gateway.requests) == before


def test_an_opted_out_number_still_subscribed_gets_nothing(client, agent, reviewer, sms_gateway) -> None:
    sms(client, "订阅", 1)
    (subscription,) = client.app.state.subscriptions.active()
    sms(client, "退订", 2)
    # subscribed again without writing (which would lift the opt-out), e.g. by a replica that missed 退订
    client.app.state.subscriptions.subscribe(subscription.conversation_id, "sms", Profile())
    before = len(sms_gateway.requests)
    publish_faq(client, agent, reviewer, question="个人所得税新规", tax_types=["个人所得税"])
    assert run_round(client) == 0 and len(sms_gateway.requests) == before  # the gateway got nothing
    (push,) = client.get("/api/staff/subscriptions", headers=agent).json()["pushes"]
    assert push["status"] == "skipped_opted_out" and "13800138000" not in str(push)
    assert client.app.state.subscriptions.active() == []  # and the subscription ended
