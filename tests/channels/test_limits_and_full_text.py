"""SMS length limits (70 single, 67 per part), the per-number rate limit, and "回复 全文" (SMS, WeChat)."""

from __future__ import annotations

import json

from channels.render import FULL_TEXT_HINT, document_link, is_full_text_request, sms_pages
from channels.sms import RateLimiter
from tests.channels.conftest import FIXTURES, sms_settings
from tests.channels.fakes import wait_until

CALLBACK = "/sms/inbound?token=cb-token-12366"
SIGN = len("【12366智能咨询】")
FULL = (
    "小规模纳税人发生增值税应税销售行为，合计月销售额未超过10万元（以1个季度为1个纳税期的，季度销售额未超过30万元）的，免征增值税。"
    * 3
)
SHORT = FULL[:40] + "……（查看全文）"
SHORTENED = [
    {"recipient_id": "x", "text": SHORT},
    {"recipient_id": "x", "custom": {
        "citations": [{"doc_id": "mof-sat-2023-19", "title": "关于增值税小规模纳税人减免增值税政策的公告",
                       "doc_number": "财政部 税务总局公告2023年第19号", "article": "第一条"}],
        "full_answer": FULL,
    }},
]  # fmt: skip


def callback(text: str, time: int, mobile: str = "13800138000") -> dict:
    body = json.loads((FIXTURES / "sms_reply.json").read_text(encoding="utf-8"))
    body.update(text=text, time=time, mobile=mobile)
    return body


def joined(texts: list[str]) -> str:
    return "".join(t[t.index(")") + 1 :] if t.startswith("(") else t for t in texts)


# --- lengths ------------------------------------------------------------------------------------------
def test_seventy_characters_is_one_sms_seventy_one_is_split_in_parts_of_67():
    assert sms_pages("税" * 70, 70, 67, 3, "…更多") == (["税" * 70], "")
    parts, rest = sms_pages("税" * 71, 70, 67, 3, "…更多")
    assert len(parts) == 2 and rest == ""
    assert all(len(p) <= 67 for p in parts)
    assert "".join(p[5:] for p in parts) == "税" * 71


def test_a_cut_answer_returns_its_rest():
    text = "".join(f"{i:03d}" for i in range(100))  # 300 distinct characters
    parts, rest = sms_pages(text, 70, 67, 2, "…" + FULL_TEXT_HINT)
    assert len(parts) == 2 and all(len(p) <= 67 for p in parts) and parts[-1].endswith(FULL_TEXT_HINT)
    shown = "".join(p[5:] for p in parts).removesuffix("…" + FULL_TEXT_HINT)
    assert shown + rest == text


def test_the_channel_sends_70_with_signature_as_one_sms_and_longer_in_67_parts(
    make_client, dialogue, sms_gateway
):
    single = "答" * (70 - SIGN)
    dialogue.answer = lambda sender, message: [{"recipient_id": sender, "text": single if message == "a" else
                                                single + "多"}]  # fmt: skip
    with make_client() as client:
        client.post(CALLBACK, json=callback("a", time=1))
        wait_until(lambda: len(sms_gateway.requests) == 1)
        client.post(CALLBACK, json=callback("b", time=2))
        wait_until(lambda: len(sms_gateway.requests) == 3)
    assert sms_gateway.texts[0] == single
    assert [t[:5] for t in sms_gateway.texts[1:]] == ["(1/2)", "(2/2)"]
    assert all(len(t) <= 67 - SIGN for t in sms_gateway.texts[1:])


# --- rate limit ---------------------------------------------------------------------------------------
def test_rate_limiter_notices_once_then_is_silent_until_the_window_passes():
    now = [0.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(4)] == ["ok", "ok", "notice", "silent"]
    assert limiter.check("b") == "ok"  # per number
    now[0] = 59.9
    assert limiter.check("a") == "silent"
    now[0] = 60.0
    assert [limiter.check("a") for _ in range(4)] == ["ok", "ok", "notice", "silent"]
    assert RateLimiter(0).check("a") == "ok"


def test_rate_limiter_forgets_quiet_numbers():
    now = [0.0]
    limiter = RateLimiter(1, window=60, clock=lambda: now[0])
    limiter.SWEEP_AT = 3
    for sender in ("a", "b", "c"):
        limiter.check(sender)
    now[0] = 61.0
    assert limiter.check("d") == "ok"
    assert set(limiter._seen) == {"d"}


def test_a_number_over_the_limit_gets_one_notice_then_nothing(make_client, dialogue, sms_gateway):
    with make_client(sms=sms_settings(sms_gateway.url, rate_limit_per_minute=2)) as client:
        for n in range(2):
            client.post(CALLBACK, json=callback(f"问题{n}", time=100 + n))
        wait_until(lambda: len(sms_gateway.requests) == 2)
        client.post(CALLBACK, json=callback("问题2", time=102))
        wait_until(lambda: len(sms_gateway.requests) == 3)
        client.post(CALLBACK, json=callback("问题3", time=103))
        client.post(CALLBACK, json=callback("问题4", time=104, mobile="13900139000"))  # another number
        wait_until(lambda: len(sms_gateway.requests) == 4)
        client.post(CALLBACK, json=callback("TD", time=105))  # unsubscribing is never limited
        wait_until(lambda: len(sms_gateway.requests) == 5)
    assert dialogue.messages == ["问题0", "问题1", "问题4"]
    texts = sms_gateway.texts
    assert texts[2] == "您发送的短信过于频繁，请稍后再试。如需咨询，可拨打12366纳税缴费服务热线。"
    assert texts[4].startswith("您已退订")


# --- 全文 -----------------------------------------------------------------------------------------------
def test_full_text_words():
    assert all(is_full_text_request(t) for t in ("全文", " 全文。", "“全文”", "回复全文", "查看全文"))
    assert not is_full_text_request("全文是什么")
    assert document_link("https://12366.example/", "a b", "第一条") == (
        "https://12366.example/documents/a%20b?article=%E7%AC%AC%E4%B8%80%E6%9D%A1"
    )
    assert document_link("", "x") == ""


def test_sms_full_text_sends_the_rest_without_a_dialogue_turn(make_client, dialogue, sms_gateway):
    long = "".join(f"第{i:02d}句。" for i in range(60))  # 300 characters, more than 3 parts hold
    dialogue.answer = lambda sender, message: [{"recipient_id": sender, "text": long}]
    with make_client() as client:
        client.post(CALLBACK, json=callback("问", time=1))
        wait_until(lambda: len(sms_gateway.requests) == 3)
        assert sms_gateway.texts[-1].endswith("…" + FULL_TEXT_HINT)
        client.post(CALLBACK, json=callback("全文", time=2))
        wait_until(lambda: len(sms_gateway.requests) > 3)
        wait_until(lambda: sms_gateway.texts[-1].startswith(("(", "第")) and len(sms_gateway.requests) >= 4)
    shown = "".join(t[5:] for t in sms_gateway.texts[:3]).removesuffix("…" + FULL_TEXT_HINT)
    rest = "".join(t[5:] if t.startswith("(") else t for t in sms_gateway.texts[3:])
    assert (shown + rest.removesuffix("…" + FULL_TEXT_HINT)).startswith(long[: len(shown) + 50])
    assert dialogue.messages == ["问"]


def test_sms_full_text_of_an_answer_the_bot_shortened(make_client, dialogue, sms_gateway):
    dialogue.answer = lambda sender, message: SHORTENED
    with make_client(sms=sms_settings(sms_gateway.url, max_segments=10)) as client:
        client.post(CALLBACK, json=callback("小规模免税", time=1))
        wait_until(lambda: bool(sms_gateway.texts) and sms_gateway.texts[-1].endswith(FULL_TEXT_HINT))
        first = len(sms_gateway.requests)
        client.post(CALLBACK, json=callback("全文", time=2))
        wait_until(lambda: "公告2023年第19号" in joined(sms_gateway.texts[first:]))
        client.post(CALLBACK, json=callback("全文", time=3))  # nothing kept any more
        wait_until(lambda: sms_gateway.texts[-1].startswith("没有更多内容"))
    rest = joined(sms_gateway.texts[first:-1])
    assert FULL[:60] in rest and "财政部 税务总局公告2023年第19号" in rest
    assert dialogue.messages == ["小规模免税"]


def test_wechat_shortened_answer_has_hint_and_link_and_full_text_returns_it(
    make_client, dialogue, wechat_api
):
    from tests.channels.test_wechat import post_plain, reply_text

    def text_xml(content: str, msg_id: str) -> str:
        return (
            "<xml><ToUserName><![CDATA[gh_12366tax0001]]></ToUserName>"
            "<FromUserName><![CDATA[oTaxpayer_openid_0001]]></FromUserName><CreateTime>1796284800</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )  # fmt: skip

    dialogue.answer = lambda sender, message: SHORTENED
    with make_client(document_base_url="https://12366.example") as client:
        first = reply_text(post_plain(client, text_xml("小规模免税", "1001")))
        full = reply_text(post_plain(client, text_xml("全文", "1002")))
        again = reply_text(post_plain(client, text_xml("全文", "1003")))
    assert first.startswith(SHORT)
    assert FULL_TEXT_HINT in first
    assert "https://12366.example/documents/mof-sat-2023-19?article=%E7%AC%AC%E4%B8%80%E6%9D%A1" in first
    assert full.startswith(FULL) and "依据：《关于增值税小规模纳税人减免增值税政策的公告》" in full
    assert again.startswith("没有更多内容")
    assert dialogue.messages == ["小规模免税"]
