"""Hostile input to the channel webhooks: every malformed, oversized, forged or replayed request gets a
clear 4xx (or WeChat's "success"), never a 5xx; what the taxpayer wrote reaches the bot unchanged; no
phone or ID number reaches a log line unmasked."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest

from tests.channels.conftest import AES_KEY, OPENID, TOKEN, TWILIO_TOKEN, signed_query
from tests.channels.fakes import APP_ID, FakeDialogue, twilio_request_signature, wait_until, wechat_encrypt
from tests.channels.test_sms_twilio import URL as TWILIO_URL
from tests.channels.test_sms_twilio import form, settings
from tests.channels.test_wechat import fields, post_aes, post_plain, reply_text

PHONE, ID_CARD = "13912345678", "110101199003071234"
SQL = "'; DROP TABLE channel_inbound; --"
HOSTILE_TEXTS = [
    "个税起征点是多少？😀🇨🇳",
    "VAT税率 ставка налога ضريبة 税率",
    "税\u202e率\u200b是多少\ufeff",
    f"{SQL} 增值税",
    "<script>alert('x')</script>增值税",
    "]]><xml>注入</xml><![CDATA[",
    "\t前后有空白的问题\u3000",
]


def text_xml(content: str, msg_id: str = "24712345678901234", from_user: str = OPENID) -> str:
    escaped = content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f"<xml><ToUserName>gh_12366tax0001</ToUserName><FromUserName>{from_user}</FromUserName>"
        f"<CreateTime>1796284800</CreateTime><MsgType>text</MsgType><Content>{escaped}</Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def sms_callback(text: str, time_: object = 1796284800, mobile: str = PHONE) -> bytes:
    return json.dumps({"mobile": mobile, "nationcode": "86", "text": text, "time": time_}).encode()


def post_sms(client, body: bytes, token: str = "cb-token-12366", **headers: str):
    return client.post(f"/sms/inbound?token={token}", content=body, headers=headers)


# --- WeChat -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_hostile_text_reaches_the_bot_unchanged_in_both_modes(make_client, dialogue: FakeDialogue, text):
    with make_client() as client:
        plain = reply_text(post_plain(client, text_xml(text, "1001")))
        secure = reply_text(post_aes(client, text_xml(text, "1002")), aes=True)
    assert dialogue.messages == [text.strip(), text.strip()]
    assert plain == secure == f"答：{text.strip()}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "XML"),
        (b"\xff\xfe<xml>\x80</xml>", "XML"),
        (b"<xml><MsgType>text</MsgType><Content>\x00</Content></xml>", "XML"),
        (b'{"MsgType": "text"}', "XML"),
        (b"<html><MsgType>text</MsgType></html>", "<xml>"),
        (b"<xml><Content>\xe4\xb8</Content></xml>", ""),
        (b"<xml><MsgType>text</MsgType><Content>no sender</Content></xml>", "FromUserName"),
    ],
)  # fmt: skip
def test_malformed_wechat_bodies_are_400_with_a_reason(make_client, dialogue, body: bytes, reason: str):
    with make_client() as client:
        response = client.post(
            f"/wechat?{signed_query()}", content=body, headers={"Content-Type": "text/xml"}
        )
    assert response.status_code == 400, response.text
    assert reason in response.json()["detail"]
    assert dialogue.calls == []


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>',
        '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
        '<!DOCTYPE xml SYSTEM "file:///etc/passwd">',
        "<!DOCTYPE xml>",
    ],
)
def test_any_doctype_is_refused_plain_and_encrypted(make_client, dialogue, doctype: str):
    bomb = text_xml("&d;").replace("&amp;d;", "&d;")
    body = f'<?xml version="1.0"?>\n{doctype}\n{bomb}'
    with make_client() as client:
        assert post_plain(client, body).status_code == 400
        assert post_aes(client, body).status_code == 400
        # the envelope itself may carry the DOCTYPE too
        envelope = f"{doctype}<xml><Encrypt>{wechat_encrypt(bomb, AES_KEY, APP_ID)}</Encrypt></xml>"
        response = client.post(f"/wechat?{signed_query(encrypt_type='aes')}", content=envelope.encode())
        assert response.status_code == 400
        assert "DTD" in response.json()["detail"]
    assert dialogue.calls == []


def test_oversized_bodies_are_413_in_aes_mode_too(make_client, dialogue):
    with make_client(max_body_bytes=4096) as client:
        response = post_aes(client, text_xml("税" * 3000))
        assert response.status_code == 413 and "过大" in response.json()["detail"]
        lying = client.post(
            f"/wechat?{signed_query()}", content=b"<xml>" + b"a" * 8000, headers={"Content-Length": "10"}
        )
        assert lying.status_code in (400, 413)
    assert dialogue.calls == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "signature=&timestamp=&nonce=",
        "signature=" + "0" * 40 + "&timestamp=1796284800&nonce=n",
        "signature=%00%27%20OR%201%3D1&timestamp=%E2%80%AE&nonce=%F0%9F%98%80",
    ],
)
def test_forged_or_missing_signatures_are_403(make_client, dialogue, query: str):
    with make_client() as client:
        assert client.post(f"/wechat?{query}", content=text_xml("你好").encode()).status_code == 403
        verify = client.get(f"/wechat?{query}&echostr=<script>alert(1)</script>")
        assert verify.status_code == 403 and "<script>" not in verify.text
    assert dialogue.calls == []


def test_the_echo_is_plain_text_never_html(make_client):
    with make_client() as client:
        response = client.get(f"/wechat?{signed_query(echostr='<script>alert(1)</script>')}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("encrypt", "status"),
    [
        ("not-base64!!", 400),
        (base64.b64encode(b"\x00" * 31).decode(), 400),  # not a multiple of the AES block
        (base64.b64encode(b"\x00" * 64).decode(), 400),  # decrypts to garbage
        (lambda: wechat_encrypt(text_xml("你好"), AES_KEY, "wx_other_app_id"), 400),
    ],
)
def test_a_correctly_signed_but_broken_encrypt_field_is_400(make_client, dialogue, encrypt, status):
    from tests.channels.fakes import wechat_signature

    encrypted = encrypt() if callable(encrypt) else encrypt
    timestamp, nonce = str(int(time.time())), "n"
    query = {
        "signature": wechat_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
        "encrypt_type": "aes", "msg_signature": wechat_signature(TOKEN, timestamp, nonce, encrypted),
    }  # fmt: skip
    with make_client() as client:
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        response = client.post("/wechat", params=query, content=body.encode())
    assert response.status_code == status, response.text
    assert dialogue.calls == []


def test_replayed_message_ids_get_one_turn_and_the_same_reply(make_client, dialogue):
    with make_client() as client:
        first = reply_text(post_plain(client, text_xml("增值税税率", "555")))
        assert reply_text(post_aes(client, text_xml("增值税税率", "555")), aes=True) == first
        replay = post_plain(client, text_xml("另一个问题，同一个 MsgId", "555"))
        assert reply_text(replay) == first
        other_user = post_plain(client, text_xml("别人的问题", "556", from_user="oOther"))
        assert fields(other_user.text)["ToUserName"] == "oOther"
    assert dialogue.messages == ["增值税税率", "别人的问题"]


def test_odd_but_well_formed_fields_do_not_crash(make_client, dialogue):
    xml = text_xml("问题", "777").replace("<CreateTime>1796284800", "<CreateTime>99999999999999999999")
    with make_client() as client:
        assert reply_text(post_plain(client, xml)) == "答：问题"
        unknown = text_xml("x", "778").replace("<MsgType>text", "<MsgType>miniprogrampage")
        assert post_plain(client, unknown).status_code == 200


# --- SMS (Tencent Cloud callback) -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"\xff\xfe\x00", 400),
        (b"[1, 2]", 400),
        (b'{"mobile": "13912345678"}', 400),
        (sms_callback("x", time_="yesterday"), 400),
        (sms_callback("x", time_=10**20), 400),
        (sms_callback("x", time_=-(10**15)), 400),
        (sms_callback("x", time_=float("nan")).replace(b"NaN", b"1e400"), 400),
        (json.dumps({"mobile": ["13912345678"], "text": {}, "time": 1}).encode(), 400),
    ],
)
def test_malformed_sms_callbacks_are_400(make_client, dialogue, sms_gateway, body: bytes, status: int):
    with make_client() as client:
        response = post_sms(client, body, **{"Content-Type": "text/plain"})
    assert response.status_code == status, response.text
    assert "短信回调格式错误" in response.json()["detail"]
    assert dialogue.calls == []


@pytest.mark.parametrize("token", ["", "wrong", "cb-token-12366%00", "' OR '1'='1"])
def test_sms_callbacks_without_the_token_are_403(make_client, dialogue, token: str):
    with make_client() as client:
        assert post_sms(client, sms_callback("你好"), token=token).status_code == 403
    assert dialogue.calls == []


def test_sms_oversized_and_replayed_callbacks(make_client, dialogue, sms_gateway):
    with make_client() as client:
        assert post_sms(client, sms_callback("税" * 20_000)).status_code == 413
        for text in HOSTILE_TEXTS[:4]:
            assert post_sms(client, sms_callback(text)).json() == {"result": 0, "errmsg": "OK"}
            assert post_sms(client, sms_callback(text)).json() == {"result": 0, "errmsg": "OK"}  # retry
        wait_until(lambda: len(dialogue.calls) == 4)
    assert dialogue.messages == [text.strip() for text in HOSTILE_TEXTS[:4]]


# --- SMS (Twilio-style form) ----------------------------------------------------------------------------
def test_twilio_hostile_forms(make_client, dialogue, twilio, sms_gateway):
    def signed(data: dict[str, str]) -> dict[str, str]:
        return {"X-Twilio-Signature": twilio_request_signature(TWILIO_TOKEN, TWILIO_URL, data)}

    with make_client(sms=settings(twilio, sms_gateway, max_body_bytes=4096)) as client:
        post = client.post
        assert post("/sms/inbound/twilio", content=b"\xff\xfe=\x80").status_code == 400
        assert post("/sms/inbound/twilio", content=b"not a form").status_code == 400
        assert post("/sms/inbound/twilio", content=b'{"From": "x"}',
                    headers={"Content-Type": "application/json"}).status_code == 400  # fmt: skip
        assert post("/sms/inbound/twilio", data=form("x" * 5000)).status_code == 413
        assert post("/sms/inbound/twilio", data=form("你好")).status_code == 403  # unsigned
        no_sender = {"Body": "你好", "MessageSid": "SMx"}
        assert post("/sms/inbound/twilio", data=no_sender, headers=signed(no_sender)).status_code == 400
        for number, text in enumerate(HOSTILE_TEXTS[:4]):
            data = form(text, sid=f"SMh{number}")
            assert post("/sms/inbound/twilio", data=data, headers=signed(data)).status_code == 200
            assert post("/sms/inbound/twilio", data=data, headers=signed(data)).status_code == 200  # retry
        wait_until(lambda: len(dialogue.calls) == 4)
    assert dialogue.messages == [text.strip() for text in HOSTILE_TEXTS[:4]]


# --- logs -------------------------------------------------------------------------------------------------
def test_hostile_requests_never_log_a_number_unmasked(make_client, dialogue, twilio, sms_gateway, caplog):
    caplog.set_level(logging.DEBUG)
    secret = f"我的手机{PHONE}，身份证{ID_CARD}"
    dialogue.answer = lambda sender, message: [{"recipient_id": sender, "text": f"收到：{message}"}]
    with make_client(sms=settings(twilio, sms_gateway)) as client:
        post_plain(client, text_xml(secret, "900"))
        post_plain(client, text_xml(secret, "900"))
        post_aes(client, text_xml(secret, "901"), bad_msg_signature=True)
        client.post(f"/wechat?{signed_query()}", content=f"<xml><Content>{secret}".encode())
        post_sms(client, sms_callback(secret))
        post_sms(client, sms_callback(secret), token="wrong")
        post_sms(client, json.dumps({"mobile": PHONE, "text": secret}).encode())
        client.post("/sms/inbound/twilio", data=form(secret, phone=f"+86{PHONE}"))
        wait_until(lambda: len(dialogue.calls) == 2)
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert PHONE not in logged and ID_CARD not in logged
    assert "139****5678" in logged  # the traffic was logged, masked
