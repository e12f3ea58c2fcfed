"""The Tencent Cloud SMS channel: reply callback in, signed SendSms requests out to a fake gateway."""

from __future__ import annotations

import json
import logging

import pytest

from channels.render import sms_segments
from tests.channels.conftest import FIXTURES, sms_settings
from tests.channels.fakes import FakeDialogue, FakeTencentSms, wait_until

CALLBACK = "/sms/inbound?token=cb-token-12366"
PHONE = "+8613800138000"


def callback(text: str, time: int = 1796284800, mobile: str = "13800138000") -> dict:
    body = json.loads((FIXTURES / "sms_reply.json").read_text(encoding="utf-8"))
    body.update(text=text, time=time, mobile=mobile)
    return body


def test_a_question_is_acknowledged_and_answered_by_signed_sendsms(make_client, dialogue, sms_gateway):
    with make_client() as client:
        response = client.post(CALLBACK, json=callback("个税起征点是多少？"))
        assert response.status_code == 200 and response.json() == {"result": 0, "errmsg": "OK"}
        wait_until(lambda: len(sms_gateway.requests) == 1)
    request = sms_gateway.requests[0]
    assert request == {
        "PhoneNumberSet": [PHONE], "SmsSdkAppId": "1400012366", "SignName": "12366智能咨询",
        "TemplateId": "1234567", "TemplateParamSet": ["答：个税起征点是多少？"],
    }  # fmt: skip
    headers = sms_gateway.headers[0]
    assert headers["x-tc-region"] == "ap-guangzhou" and headers["authorization"].startswith(
        "TC3-HMAC-SHA256 "
    )
    sender, message, metadata = dialogue.calls[0]
    assert message == "个税起征点是多少？" and metadata is not None and metadata["channel"] == "sms"
    assert "13800138000" not in sender and sender.startswith("sms-")  # Rasa never sees the number


def test_wrong_secret_key_is_rejected_by_the_gateway(make_client, dialogue, sms_gateway, caplog):
    with make_client(sms=sms_settings(sms_gateway.url, secret_key="not-the-key")) as client:
        client.post(CALLBACK, json=callback("问题"))
        wait_until(lambda: "AuthFailure.SignatureFailure" in caplog.text)
    assert sms_gateway.requests == []


def test_long_answers_are_split_into_marked_segments_and_cut(make_client, dialogue, sms_gateway):
    answer = "小规模纳税人发生增值税应税销售行为，合计月销售额未超过10万元的，免征增值税。" * 6
    dialogue.answer = lambda sender, message: [{"recipient_id": sender, "text": answer}]
    with make_client() as client:
        client.post(CALLBACK, json=callback("小规模免税"))
        wait_until(lambda: len(sms_gateway.requests) == 3)
    budget = 67 - len("【12366智能咨询】")  # once split, 67 per part (concatenation header)
    texts = sms_gateway.texts
    assert [t[:5] for t in texts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert all(len(t) <= budget for t in texts)
    assert texts[-1].endswith("…回复“全文”查看完整答复")
    assert "".join(t[5:] for t in texts).startswith(answer[:100])


def test_buttons_become_reply_numbers_and_map_back(make_client, dialogue, sms_gateway):
    def answer(sender: str, message: str) -> list[dict]:
        if message == "发票":
            return [{"recipient_id": sender, "text": "请选择：",
                     "buttons": [{"title": "数电发票", "payload": "/ask_einvoice"},
                                 {"title": "红字发票", "payload": "/ask_red_invoice"}]}]  # fmt: skip
        return [{"recipient_id": sender, "text": "好的"}]

    dialogue.answer = answer
    with make_client() as client:
        client.post(CALLBACK, json=callback("发票", time=1))
        wait_until(lambda: len(sms_gateway.requests) == 1)
        client.post(CALLBACK, json=callback("回复2", time=2))
        wait_until(lambda: len(sms_gateway.requests) == 2)
    assert sms_gateway.texts[0] == "请选择：\n回复1：数电发票\n回复2：红字发票"
    assert dialogue.messages == ["发票", "/ask_red_invoice"]


def test_unsubscribe_confirms_once_and_stays_quiet_until_the_number_writes_again(
    make_client, dialogue, sms_gateway
):
    with make_client() as client:
        client.post(CALLBACK, json=callback("TD", time=10))
        wait_until(lambda: len(sms_gateway.requests) == 1)
        client.post(CALLBACK, json=callback("退订", time=11))  # already out: no second confirmation
        client.post(CALLBACK, json=callback("T", time=12))
    assert sms_gateway.texts == [
        "您已退订12366智能咨询短信，将不再收到本服务短信。如需咨询，直接回复您的问题即可。"
    ]
    assert dialogue.calls == []
    with make_client() as client:  # after a restart the opt-out still holds; writing again lifts it
        client.post(CALLBACK, json=callback("td", time=13))
        client.post(CALLBACK, json=callback("个税怎么算", time=14))
        wait_until(lambda: len(sms_gateway.requests) == 2)
    assert sms_gateway.texts[1] == "答：个税怎么算"
    assert dialogue.messages == ["个税怎么算"]


def test_a_retried_callback_is_not_a_second_turn(make_client, dialogue, sms_gateway):
    with make_client() as client:
        assert client.post(CALLBACK, json=callback("增值税", time=20)).json()["result"] == 0
        wait_until(lambda: len(sms_gateway.requests) == 1)
    with make_client() as client:
        assert client.post(CALLBACK, json=callback("增值税", time=20)).json()["result"] == 0
    assert dialogue.messages == ["增值税"] and len(sms_gateway.requests) == 1


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/sms/inbound?token=wrong", callback("x"), 403),
        ("/sms/inbound", callback("x"), 403),
        (CALLBACK, {"mobile": "13800138000"}, 400),
        (CALLBACK, "not json", 400),
        (CALLBACK, "x" * 20000, 413),
    ],
)
def test_bad_callbacks(make_client, dialogue, path, body, status):
    with make_client() as client:
        if isinstance(body, dict):
            response = client.post(path, json=body)
        else:
            response = client.post(path, content=body.encode())
    assert response.status_code == status
    assert dialogue.calls == []


def test_ip_allow_list_and_missing_configuration(make_client, sms_gateway):
    with make_client(sms=sms_settings(sms_gateway.url, allowed_ips=["10.0.0.8"])) as client:
        assert (
            client.post(CALLBACK, json=callback("x")).status_code == 403
        )  # TestClient comes from "testclient"
    with make_client(sms=sms_settings(sms_gateway.url, secret_key="", template_id="")) as client:
        response = client.post(CALLBACK, json=callback("x"))
        assert response.status_code == 503
        assert "TAXBOT_SMS_SECRET_KEY" in response.json()["detail"]
        assert "TAXBOT_SMS_TEMPLATE_ID" in response.json()["detail"]


def test_logs_never_show_phone_or_id_numbers(make_client, sms_gateway, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    dialogue = FakeDialogue(lambda sender, message: [{"recipient_id": sender, "text": "收到"}])
    question = (
        "我的身份证110101199003071234，手机 139 1234 5678，银行卡6222021234567890123，税号91110108MA01ABCD2X"
    )
    with make_client() as client:
        client.app.state.channel_dialogue = dialogue
        client.post(CALLBACK, json=callback(question))
        wait_until(lambda: len(sms_gateway.requests) == 1)
        client.post(CALLBACK, json=callback("TD", time=99))
        wait_until(lambda: len(sms_gateway.requests) == 2)
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("channels"))
    for secret in ("110101199003071234", "139 1234 5678", "6222021234567890123", "91110108MA01ABCD2X",
                   "13800138000"):  # fmt: skip
        assert secret not in logged
    assert "11**************34" in logged and "139****5678" in logged and "+86138****8000" in logged


def test_segments_function_limits():
    assert sms_segments("短答案", 60, 3, "详询12366") == ["短答案"]
    parts = sms_segments("很" * 200, 60, 2, "详询12366")
    assert len(parts) == 2 and all(len(p) <= 60 for p in parts) and parts[-1].endswith("…详询12366")


def test_fake_gateway_checks_signatures(sms_gateway: FakeTencentSms):
    """The fake really verifies: an unsigned request is refused with Tencent's error shape."""
    import httpx

    response = httpx.post(sms_gateway.url + "/", content=b"{}", headers={"X-TC-Action": "SendSms",
                          "X-TC-Version": "2021-01-11", "X-TC-Timestamp": "1"})  # fmt: skip
    assert response.json()["Response"]["Error"]["Code"].startswith("AuthFailure")
