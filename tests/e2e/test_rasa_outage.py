"""Rasa down: nothing is lost. Messages through web, WeChat and SMS are queued with an immediate notice;
then a real Rasa server is started on the configured port and every answer arrives, in order, by the
channel the question came from (web: `GET /api/chat/{sender}/messages`; WeChat: 客服消息 to the fake API;
SMS: the fake Tencent Cloud gateway).

The app runs under uvicorn in this process (real HTTP, so Rasa can call its action webhook) with a tiny real
retriever and channel credentials of the fakes; Rasa is started as `taxbot serve` starts it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from channels.config import SmsSettings, WeChatSettings
from taxbot.app import create_app
from taxbot.conversations.pending import ANSWERED
from taxbot.conversations.replay import QUEUED, RETRY
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.supervisor import Supervisor, log_tail, rasa_process
from tests.channels.fakes import FakeTencentSms, FakeWeChatAPI, wechat_signature
from tests.e2e.conftest import MODELS_DIR, READY_TIMEOUT, free_port

pytestmark = pytest.mark.e2e

TOKEN, APP_ID, APP_SECRET, OPENID = "e2etoken12366", "wxe2e0000000000002", "e2e-app-secret", "oE2eOutage01"
SMS_ID, SMS_KEY, SMS_APP, CB_TOKEN = "AKIDe2e12366", "e2e-tencent-key", "1400099999", "e2e-cb-token"
FIRST, SECOND = "小规模纳税人增值税征收率是多少", "个人所得税综合所得的费用扣除是多少"
BASIS = "《中华人民共和国增值税法》（主席令第四十一号）"
DEADLINE = 240.0  # seconds: bound for the answers after Rasa is up (its backoff, Rasa's first turns)


@dataclass
class Product:
    app: FastAPI
    base_url: str
    settings: Settings
    wechat: FakeWeChatAPI
    sms: FakeTencentSms


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)


@pytest.fixture
def product(tmp_path: Path, tiny_retriever) -> Iterator[Product]:
    """The app served on a free port, Rasa's port closed until the test starts it."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path, host="127.0.0.1", port=port, rasa_port=free_port(), models_dir=MODELS_DIR,
        rasa_timeout=30.0, log_level="WARNING",
    )  # fmt: skip
    with FakeWeChatAPI(APP_ID, APP_SECRET) as wechat, FakeTencentSms(SMS_ID, SMS_KEY, SMS_APP) as sms:
        app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
        app.state.wechat_settings = WeChatSettings(
            _env_file=None, token=TOKEN, app_id=APP_ID, app_secret=APP_SECRET, api_base=wechat.url,
            passive_reply_seconds=4.5,
        )  # type: ignore[call-arg]  # fmt: skip
        app.state.sms_settings = SmsSettings(
            _env_file=None, secret_id=SMS_ID, secret_key=SMS_KEY, sdk_app_id=SMS_APP,
            sign_name="12366智能咨询", template_id="1234567", callback_token=CB_TOKEN,
            api_base=sms.url, max_segments=10,
        )  # type: ignore[call-arg]  # fmt: skip
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: server.started or not thread.is_alive(), 60, "the app serving")
            assert server.started, "the app did not start"
            yield Product(app, f"http://127.0.0.1:{port}", settings, wechat, sms)
        finally:
            server.should_exit = True
            thread.join(timeout=60)


def web_chat(product: Product, sender: str, message: str) -> list[dict]:
    response = httpx.post(
        f"{product.base_url}/api/chat", json={"sender": sender, "message": message}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def web_pushed(product: Product, sender: str) -> list[str]:
    response = httpx.get(f"{product.base_url}/api/chat/{sender}/messages", timeout=30)
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"] if m["role"] == "bot"]


def wechat_text(product: Product, message_id: str, text: str) -> httpx.Response:
    timestamp, nonce = str(int(time.time())), "outagenonce"
    query = urlencode({"signature": wechat_signature(TOKEN, timestamp, nonce), "timestamp": timestamp,
                       "nonce": nonce, "openid": OPENID})  # fmt: skip
    xml = (
        f"<xml><ToUserName><![CDATA[gh_12366tax0001]]></ToUserName><FromUserName><![CDATA[{OPENID}]]>"
        f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{message_id}</MsgId></xml>"
    )
    return httpx.post(f"{product.base_url}/wechat?{query}", content=xml.encode(), timeout=30)


def passive_content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    match = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", response.text, re.S)
    assert match, response.text
    return match.group(1)


def sms_joined(texts: list[str]) -> str:
    return "".join(re.sub(r"^\(\d+/\d+\)", "", t) for t in texts)


def test_messages_sent_while_rasa_is_down_are_answered_in_order_once_it_is_back(
    product: Product, rasa_model: Path
) -> None:
    # --- Rasa down: every channel answers at once that the question is recorded ---------------------
    for question in (FIRST, SECOND):
        [note, custom] = web_chat(product, "e2e-outage-web", question)
        assert note["text"] == QUEUED and custom["custom"]["poll"] is True
    [note, custom] = web_chat(product, "e2e-outage-button", '/inform_region{"region":"北京市"}')
    assert note["text"] == RETRY and custom["custom"]["retry"] is True  # a button is not replayed later

    assert passive_content(wechat_text(product, "7712366000000000101", FIRST)) == QUEUED
    assert passive_content(wechat_text(product, "7712366000000000101", FIRST)) == QUEUED  # WeChat's retry
    assert len(product.app.state.pending.messages(f"wechat:{OPENID}")) == 1  # …is still a duplicate

    callback = {"extend": "", "mobile": "13800138000", "nationcode": "86", "sign": "12366智能咨询",
                "text": FIRST, "time": int(time.time())}  # fmt: skip
    ack = httpx.post(f"{product.base_url}/sms/inbound?token={CB_TOKEN}",
                     content=json.dumps(callback, ensure_ascii=False), timeout=30)  # fmt: skip
    assert ack.json() == {"result": 0, "errmsg": "OK"}
    wait_for(lambda: QUEUED in product.sms.texts, 30, "the SMS notice")
    assert web_pushed(product, "e2e-outage-web") == [] and product.wechat.texts == []

    queued = product.app.state.pending.messages()
    assert len(queued) == 4 and "13800138000" not in str([m.text for m in queued])

    # --- Rasa comes back on the configured port: the worker replays, answers go out by channel ------
    rasa = Supervisor([rasa_process(product.settings, rasa_model)])
    rasa.start(timeout=READY_TIMEOUT)
    try:
        wait_for(lambda: len(web_pushed(product, "e2e-outage-web")) == 2, DEADLINE, "the two web answers")
        wait_for(lambda: bool(product.wechat.texts), DEADLINE, "the WeChat 客服消息")
        wait_for(lambda: len(product.sms.texts) > 1, DEADLINE, "the SMS answer")
        first, second = web_pushed(product, "e2e-outage-web")
        assert first.startswith("关于您之前的问题“小规模纳税人增值税征收率") and BASIS in first, first
        assert second.startswith("关于您之前的问题“个人所得税综合所得"), second  # in the order asked
        assert BASIS in "\n".join(product.wechat.texts), product.wechat.texts
        wait_for(lambda: BASIS in sms_joined(product.sms.texts[1:]), 60, "the whole SMS answer")
        assert all(m.status == ANSWERED for m in product.app.state.pending.messages())

        # the queue is empty again: the next message is answered directly, not queued
        replies = web_chat(product, "e2e-outage-web", FIRST)
        assert QUEUED not in [r.get("text") for r in replies] and BASIS in str(replies)
    except BaseException:
        print(log_tail(product.settings.data_dir / "logs" / "rasa.log"))
        raise
    finally:
        rasa.stop()
