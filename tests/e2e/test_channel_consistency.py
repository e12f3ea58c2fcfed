"""The same question through web, WeChat and SMS gets the same answer fact and the same cited 文号.

The served app of the ``stack`` fixture has no channel credentials, so a second app instance
(``create_app`` on the stack's data dir, pointed at the stack's Rasa) carries the channel routes, with
WeChat and Tencent Cloud SMS credentials of the fakes; Rasa's actions still run on the stack's app.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from channels.config import SmsSettings, WeChatSettings
from taxbot.app import create_app
from taxbot.settings import Settings
from tests.channels.fakes import FakeTencentSms, FakeWeChatAPI, wait_until, wechat_signature
from tests.e2e.conftest import MODELS_DIR

pytestmark = pytest.mark.e2e

QUESTION = "小规模纳税人增值税征收率是多少"
TOKEN, APP_ID, APP_SECRET, OPENID = "e2etoken12366", "wxe2e0000000000001", "e2e-app-secret", "oE2eTaxpayer01"
SMS_ID, SMS_KEY, SMS_APP = "AKIDe2e12366", "e2e-tencent-key", "1400099999"


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def joined(segments: list[str]) -> str:
    return "".join(re.sub(r"^\(\d+/\d+\)", "", s) for s in segments)


@pytest.fixture
def channel_app(stack):
    with FakeWeChatAPI(APP_ID, APP_SECRET) as wechat_api, FakeTencentSms(SMS_ID, SMS_KEY, SMS_APP) as sms:
        settings = Settings(
            data_dir=stack.data_dir, rasa_url=stack.rasa_url, models_dir=MODELS_DIR, log_level="WARNING"
        )
        app = create_app(settings)
        app.state.wechat_settings = WeChatSettings(
            _env_file=None, token=TOKEN, app_id=APP_ID, app_secret=APP_SECRET, api_base=wechat_api.url,
            passive_reply_seconds=4.5,
        )  # type: ignore[call-arg]  # fmt: skip
        app.state.sms_settings = SmsSettings(
            _env_file=None, secret_id=SMS_ID, secret_key=SMS_KEY, sdk_app_id=SMS_APP,
            sign_name="12366智能咨询", template_id="1234567", callback_token="e2e-cb-token", api_base=sms.url,
            max_segments=10,
        )  # type: ignore[call-arg]  # fmt: skip
        with TestClient(app) as client:
            yield client, wechat_api, sms


def test_web_wechat_and_sms_give_the_same_fact_and_citation(stack, channel_app):
    client, wechat_api, sms = channel_app

    # web
    body = {"sender": "e2e-consistency", "message": QUESTION}
    response = httpx.post(f"{stack.base_url}/api/chat", json=body, timeout=60)
    assert response.status_code == 200, response.text
    messages = response.json()
    web_text = "\n".join(m["text"] for m in messages if "text" in m)
    [custom] = [m["custom"] for m in messages if "custom" in m]
    cited = custom["citations"][0]
    basis = f"《{cited['title']}》" + (f"（{cited['doc_number']}）" if cited.get("doc_number") else "")
    fact = flat(web_text.splitlines()[0])  # the answer sentence itself, before 依据/适用范围/options
    assert len(fact) > 10 and basis in web_text, web_text

    # WeChat, plaintext mode: the passive reply (or, if Rasa was slow, the 客服消息 that follows)
    timestamp, nonce = str(int(time.time())), "e2enonce"
    query = urlencode({"signature": wechat_signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
                       "nonce": nonce, "openid": OPENID})  # fmt: skip
    xml = (
        f"<xml><ToUserName><![CDATA[gh_12366tax0001]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{QUESTION}]]></Content><MsgId>7712366000000000001</MsgId></xml>"
    )
    reply = client.post(f"/wechat?{query}", content=xml.encode())
    assert reply.status_code == 200, reply.text
    if reply.text == "success":
        wait_until(lambda: bool(wechat_api.texts), timeout=60)
        wechat_text = "\n".join(wechat_api.texts)
    else:
        match = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", reply.text, re.S)
        assert match, reply.text
        wechat_text = match.group(1)

    # SMS: the signed (token) Tencent callback; the fake gateway receives the SendSms requests
    callback = {"extend": "", "mobile": "13800138000", "nationcode": "86", "sign": "12366智能咨询",
                "text": QUESTION, "time": int(time.time())}  # fmt: skip
    ack = client.post("/sms/inbound?token=e2e-cb-token", content=json.dumps(callback, ensure_ascii=False))
    assert ack.json() == {"result": 0, "errmsg": "OK"}

    def sms_complete() -> bool:
        texts = sms.texts
        if not texts:
            return False
        marker = re.match(r"^\((\d+)/(\d+)\)", texts[-1])
        return marker is None or marker.group(1) == marker.group(2)

    wait_until(sms_complete, timeout=60)
    sms_text = joined(sms.texts)

    for channel, text in (("wechat", wechat_text), ("sms", sms_text)):
        assert fact in flat(text), (channel, text, web_text)
        assert basis in text, (channel, text)
