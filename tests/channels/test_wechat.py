"""The WeChat Official Account channel through its HTTP routes, plaintext and secure (AES) mode."""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET

import pytest

from tests.channels.conftest import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    OPENID,
    TOKEN,
    fixture_xml,
    signed_query,
)
from tests.channels.fakes import FakeDialogue, wait_until, wechat_decrypt, wechat_encrypt, wechat_signature

CITED_ANSWER = [
    {"recipient_id": "x", "text": "居民个人综合所得每年减除费用六万元。"},
    {
        "recipient_id": "x",
        "custom": {
            "citations": [
                {"doc_id": "iit-law", "title": "中华人民共和国个人所得税法", "doc_number": "主席令第九号",
                 "article": "第六条", "region": "全国", "status": "in_force", "effective": "2019-01-01",
                 "applicability": "national"},
            ],
            "answer_kind": "faq",
        },
    },
]  # fmt: skip


def fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ET.fromstring(xml)}


def post_plain(client, name_or_xml: str, **query: str):
    body = fixture_xml(name_or_xml) if name_or_xml.endswith(".xml") else name_or_xml
    return client.post(f"/wechat?{signed_query(**query)}", content=body.encode())


def post_aes(client, name_or_xml: str, *, bad_msg_signature: bool = False):
    """Secure mode exactly as WeChat sends it: the signed Encrypt envelope, msg_signature in the URL."""
    xml = fixture_xml(name_or_xml) if name_or_xml.endswith(".xml") else name_or_xml
    encrypted = wechat_encrypt(xml, AES_KEY, APP_ID)
    timestamp, nonce = str(int(time.time())), "aesnonce"
    msg_signature = wechat_signature(TOKEN, timestamp, nonce, "tampered" if bad_msg_signature else encrypted)
    body = (
        "<xml><ToUserName><![CDATA[gh_12366tax0001]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    query = {
        "signature": wechat_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
        "openid": OPENID, "encrypt_type": "aes", "msg_signature": msg_signature,
    }  # fmt: skip
    return client.post("/wechat", params=query, content=body.encode())


def reply_text(response, *, aes: bool = False) -> str:
    """The Content of a passive reply ("" for "success"), decrypting and checking it in AES mode."""
    assert response.status_code == 200, response.text
    if response.text == "success":
        return ""
    xml = response.text
    if aes:
        envelope = fields(xml)
        assert envelope["MsgSignature"] == wechat_signature(
            TOKEN, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"]
        )
        xml, app_id = wechat_decrypt(envelope["Encrypt"], AES_KEY)
        assert app_id == APP_ID
    reply = fields(xml)
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == "gh_12366tax0001"
    assert reply["MsgType"] == "text"
    return reply["Content"]


def test_server_verification_echoes_echostr(make_client):
    with make_client() as client:
        ok = client.get(f"/wechat?{signed_query(echostr='5837397520665436492')}")
        assert ok.status_code == 200 and ok.text == "5837397520665436492"
        bad = client.get(
            "/wechat", params={"signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "x"}
        )
        assert bad.status_code == 403


def test_missing_credentials_answer_503_and_the_app_still_starts(make_client, wechat_api):
    from tests.channels.conftest import wechat_settings

    with make_client(wechat=wechat_settings(wechat_api.url, token="", app_secret="")) as client:
        response = client.get(f"/wechat?{signed_query(echostr='1')}")
        assert response.status_code == 503
        assert "TAXBOT_WECHAT_TOKEN" in response.json()["detail"]
        response = post_plain(client, "text.xml")
        assert response.status_code == 503
        assert "TAXBOT_WECHAT_APP_SECRET" in response.json()["detail"]
    with make_client(wechat=wechat_settings(wechat_api.url, app_id="", app_secret="")) as client:
        assert (
            client.get(f"/wechat?{signed_query(echostr='1')}").text == "1"
        )  # the token is enough for the check
    with make_client(encoding_aes_key="") as client:
        assert post_plain(client, "text.xml").status_code == 200
        assert "TAXBOT_WECHAT_ENCODING_AES_KEY" in post_aes(client, "text.xml").json()["detail"]


EXPECTED = {
    "text.xml": ("个税起征点是多少？", "答：个税起征点是多少？"),
    "voice.xml": ("小规模纳税人增值税征收率是多少", "答：小规模纳税人增值税征收率是多少"),
    "click_human.xml": ("转人工", "答：转人工"),
    "voice_unrecognised.xml": (None, "没有听清"),
    "image.xml": (None, "目前仅支持文字咨询"),
    "location.xml": (None, "目前仅支持文字咨询"),
    "link.xml": (None, "目前仅支持文字咨询"),
    "video.xml": (None, "目前仅支持文字咨询"),
    "subscribe.xml": (None, "欢迎关注12366智能咨询"),
    "click_hot_questions.xml": (None, "热门问题"),
    "unsubscribe.xml": (None, ""),
}


@pytest.mark.parametrize("aes", [False, True], ids=["plaintext", "aes"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_type(make_client, dialogue: FakeDialogue, name: str, aes: bool):
    sent_to_bot, expected_reply = EXPECTED[name]
    with make_client() as client:
        response = post_aes(client, name) if aes else post_plain(client, name)
        text = reply_text(response, aes=aes)
    if expected_reply:
        assert expected_reply in text
    else:
        assert response.text == "success"
    if sent_to_bot is None:
        assert dialogue.calls == []
    else:
        assert dialogue.messages == [sent_to_bot]
        sender, _, metadata = dialogue.calls[0]
        assert sender == f"wechat:{OPENID}" and metadata is not None and metadata["channel"] == "wechat"


def test_subscribe_offers_hot_questions_and_a_number_asks_one(make_client, dialogue: FakeDialogue):
    with make_client() as client:
        welcome = reply_text(post_plain(client, "subscribe.xml"))
        assert "回复1：个人所得税起征点是多少？" in welcome and "回复4：" in welcome
        reply = reply_text(post_plain(client, fixture_xml("text.xml").replace("个税起征点是多少？", "2")))
    assert dialogue.messages == ["小规模纳税人增值税征收率是多少？"]
    assert reply == "答：小规模纳税人增值税征收率是多少？"


def test_buttons_degrade_to_numbers_and_map_back(make_client):
    def answer(sender: str, message: str) -> list[dict]:
        if message == "房产税":
            return [{"recipient_id": sender, "text": "请问您在哪个地区？",
                     "buttons": [{"title": "北京市", "payload": '/inform{"region":"北京市"}'},
                                 {"title": "上海市", "payload": '/inform{"region":"上海市"}'}]}]  # fmt: skip
        return [{"recipient_id": sender, "text": f"收到：{message}"}]

    dialogue = FakeDialogue(answer)
    with make_client() as client:
        client.app.state.channel_dialogue = dialogue
        text = fixture_xml("text.xml")
        menu = reply_text(post_plain(client, text.replace("个税起征点是多少？", "房产税")))
        assert menu == "请问您在哪个地区？\n回复1：北京市\n回复2：上海市"
        chosen = reply_text(
            post_plain(client, text.replace("个税起征点是多少？", "２").replace("234</MsgId>", "299</MsgId>"))
        )
        assert chosen == '收到：/inform{"region":"上海市"}'
        # the last reply offered no buttons, so a bare number is now just text
        again = reply_text(
            post_plain(client, text.replace("个税起征点是多少？", "2").replace("234</MsgId>", "298</MsgId>"))
        )
        assert again == "收到：2"


def test_citations_render_as_one_basis_line(make_client, dialogue: FakeDialogue):
    dialogue.answer = lambda sender, message: CITED_ANSWER
    with make_client() as client:
        text = reply_text(post_aes(client, "text.xml"), aes=True)
    assert (
        text
        == "居民个人综合所得每年减除费用六万元。\n依据：《中华人民共和国个人所得税法》（主席令第九号）第六条"
    )


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml"])
def test_dtd_and_entities_are_refused(make_client, dialogue: FakeDialogue, name: str):
    with make_client() as client:
        response = post_plain(client, name)
    assert response.status_code == 400
    assert "DTD" in response.json()["detail"]
    assert dialogue.calls == []


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml"])
def test_entities_inside_the_encrypted_body_are_refused_too(make_client, dialogue: FakeDialogue, name: str):
    with make_client() as client:
        assert post_aes(client, name).status_code == 400
    assert dialogue.calls == []


def test_oversized_body_is_413(make_client, dialogue: FakeDialogue):
    with make_client(max_body_bytes=2048) as client:
        big = fixture_xml("text.xml").replace("个税起征点是多少？", "税" * 2000)
        assert post_plain(client, big).status_code == 413
        chunked = iter([big.encode()[:1000], big.encode()[1000:]])  # no Content-Length: counted while read
        assert client.post(f"/wechat?{signed_query()}", content=chunked).status_code == 413
    assert dialogue.calls == []


def test_signature_failures_are_403_not_500(make_client, dialogue: FakeDialogue):
    with make_client() as client:
        wrong = client.post(
            "/wechat?signature=" + "0" * 40 + "&timestamp=1&nonce=2", content=fixture_xml("text.xml").encode()
        )
        assert wrong.status_code == 403
        assert post_aes(client, "text.xml", bad_msg_signature=True).status_code == 403
        malformed = post_plain(client, "<xml><MsgType>text</MsgType")
        assert malformed.status_code == 400
    assert dialogue.calls == []


def test_retries_get_the_same_answer_without_a_second_turn_even_after_restart(make_client, dialogue):
    with make_client() as client:
        first = reply_text(post_plain(client, "text.xml"))
        assert reply_text(post_plain(client, "text.xml")) == first
    with make_client() as client:  # a new app instance on the same SQLite file
        assert reply_text(post_aes(client, "text.xml", bad_msg_signature=False), aes=True) == first
        assert post_plain(client, "unsubscribe.xml").text == "success"
        assert post_plain(client, "unsubscribe.xml").text == "success"
    assert dialogue.messages == ["个税起征点是多少？"]


def test_slow_bot_answers_success_then_customer_service_message(make_client, wechat_api):
    slow = FakeDialogue(delay=1.5)
    with make_client(passive_reply_seconds=0.3) as client:
        client.app.state.channel_dialogue = slow
        started = time.monotonic()
        response = post_plain(client, "text.xml")
        assert response.text == "success" and time.monotonic() - started < slow.delay
        # WeChat retries the same MsgId while the bot is still thinking: no second turn
        assert post_plain(client, "text.xml").text == "success"
        wait_until(lambda: len(wechat_api.sent) == 1)
    assert wechat_api.sent[0] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "答：个税起征点是多少？"},
    }
    assert "答".encode() in wechat_api.raw_bodies[0]  # UTF-8 on the wire, not \\u escapes
    assert wechat_api.tokens_issued == ["ACCESS_TOKEN_1"] and len(slow.calls) == 1


def test_expired_token_is_refreshed_and_the_send_retried(make_client, wechat_api, caplog):
    caplog.set_level(logging.INFO)
    slow = FakeDialogue(delay=0.4)
    with make_client(passive_reply_seconds=0.1) as client:
        client.app.state.channel_dialogue = slow
        post_plain(client, "text.xml")
        wait_until(lambda: len(wechat_api.sent) == 1)
        wechat_api.expire_tokens()
        post_plain(client, "voice.xml")
        wait_until(lambda: len(wechat_api.sent) == 2)
    assert wechat_api.rejections == [42001]
    assert wechat_api.tokens_issued == ["ACCESS_TOKEN_1", "ACCESS_TOKEN_2"]
    assert wechat_api.texts[1] == "答：小规模纳税人增值税征收率是多少"
    assert "cgi-bin/token" in caplog.text  # httpx logged the calls, without the credentials
    assert APP_SECRET not in caplog.text and "ACCESS_TOKEN_1" not in caplog.text


def test_long_answers_are_split_within_2048_bytes(make_client, dialogue: FakeDialogue, wechat_api):
    paragraphs = [f"第{i}段：" + "增值税政策说明。" * 40 for i in range(6)]
    dialogue.answer = lambda sender, message: [{"recipient_id": sender, "text": "\n".join(paragraphs)}]
    with make_client() as client:
        first = reply_text(post_plain(client, "text.xml"))
        wait_until(lambda: "\n".join([first, *wechat_api.texts]) == "\n".join(paragraphs))
    pieces = [first, *wechat_api.texts]
    assert len(pieces) > 1 and all(len(piece.encode()) <= 2048 for piece in pieces)


def test_dialogue_engine_down_gives_an_apology(make_client):
    from taxbot.errors import DialogueUnavailable

    class Down:
        async def send_message(self, sender, message, metadata=None):
            raise DialogueUnavailable("Rasa at http://127.0.0.1:5005 is unreachable")

    with make_client() as client:
        client.app.state.channel_dialogue = Down()
        assert "12366" in reply_text(post_plain(client, "text.xml"))
