"""The channel webhooks under generated input: WeChat's XML and AES round trip, the SMS callbacks.

One app (real SQLite store, fake WeChat API and SMS gateways on 127.0.0.1) serves every example of a
test; each example gets its own message id so deduplication never hides a turn.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from xml.sax.saxutils import escape

from fastapi.testclient import TestClient
from hypothesis import assume, given
from hypothesis import strategies as st

from channels.render import is_full_text_request
from channels.sms import is_stop_word
from tests.channels.conftest import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    OPENID,
    TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    build_app,
    sms_settings,
    wechat_settings,
)
from tests.channels.fakes import (
    FakeDialogue,
    FakeTencentSms,
    FakeTwilio,
    FakeWeChatAPI,
    twilio_request_signature,
    wechat_encrypt,
    wechat_signature,
)
from tests.channels.test_wechat import reply_text
from tests.property.strategies import any_text, xml_text

_ids = itertools.count(10_000_000_000_000_000)
TWILIO_URL = "http://testserver/sms/inbound/twilio"


@contextmanager
def channel_app() -> Iterator[tuple[TestClient, FakeDialogue]]:
    dialogue = FakeDialogue()
    with (
        TemporaryDirectory(prefix="taxbot-prop-") as tmp,
        FakeWeChatAPI(APP_ID, APP_SECRET) as wechat_api,
        FakeTencentSms("AKIDtaxbot12366", "tencent-secret-key", "1400012366") as tencent,
        FakeTwilio(TWILIO_SID, TWILIO_TOKEN) as twilio,
    ):
        sms = sms_settings(
            tencent.url, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
            twilio_from="+15005550006", twilio_api_base=twilio.url, retry_backoff=0.0,
        )  # fmt: skip
        app = build_app(Path(tmp), dialogue, wechat_settings(wechat_api.url), sms)
        with TestClient(app) as client:
            yield client, dialogue


def _text_xml(content: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName>gh_12366tax0001</ToUserName><FromUserName>{OPENID}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType>"
        f"<Content>{escape(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def _post_aes(client: TestClient, xml: str):
    encrypted = wechat_encrypt(xml, AES_KEY, APP_ID)
    timestamp, nonce = str(int(time.time())), "propnonce"
    query = {
        "signature": wechat_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
        "encrypt_type": "aes", "msg_signature": wechat_signature(TOKEN, timestamp, nonce, encrypted),
    }  # fmt: skip
    body = f"<xml><ToUserName>gh_12366tax0001</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    return client.post("/wechat", params=query, content=body.encode())


def _as_xml_reads_it(text: str) -> str:
    """What a conforming XML parser hands over: line ends normalised, then the channel strips."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def test_any_text_wechat_can_carry_survives_encrypt_post_decrypt():
    with channel_app() as (client, dialogue):

        @given(xml_text)
        def round_trip(text: str) -> None:
            expected = _as_xml_reads_it(text)
            assume(expected and not is_full_text_request(expected))
            dialogue.calls.clear()
            response = _post_aes(client, _text_xml(text, next(_ids)))
            assert response.status_code == 200, response.text
            assert dialogue.messages == [expected]
            assert reply_text(response, aes=True) == f"答：{expected}"

        round_trip()


def test_arbitrary_bytes_to_wechat_are_answered_with_a_4xx_or_success():
    with channel_app() as (client, _):
        timestamp, nonce = str(int(time.time())), "n"
        signature = wechat_signature(TOKEN, timestamp, nonce)
        query = {"signature": signature, "timestamp": timestamp, "nonce": nonce}

        @given(st.one_of(st.binary(max_size=300), xml_text.map(lambda t: f"<xml>{t}</xml>".encode())))
        def anything(body: bytes) -> None:
            for mode in ({}, {"encrypt_type": "aes", "msg_signature": "0" * 40}):
                response = client.post("/wechat", params={**query, **mode}, content=body)
                assert response.status_code in (200, 400, 403), (body, response.text)
                if response.status_code != 200:
                    assert response.json()["detail"]

        anything()


def test_any_tencent_sms_text_reaches_the_bot_unchanged():
    with channel_app() as (client, dialogue):

        @given(any_text)
        def sms(text: str) -> None:
            assume(text.strip() and not is_stop_word(text) and not is_full_text_request(text))
            dialogue.calls.clear()
            number = next(_ids)  # a new number each time: one number is rate-limited to a few a minute
            body = {"mobile": f"138{number % 10**8:08d}", "text": text, "time": number % 10**9}
            response = client.post("/sms/inbound?token=cb-token-12366", content=json.dumps(body).encode())
            assert response.status_code == 200 and response.json() == {"result": 0, "errmsg": "OK"}
            client.portal.call(client.app.state.channels.conversation.drain)  # the answer runs after the ack
            assert dialogue.messages == [text.strip()]

        sms()


def test_arbitrary_sms_callback_bodies_are_a_400_not_a_500():
    with channel_app() as (client, _):
        json_values = st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
            max_leaves=6,
        )
        bodies = st.one_of(
            st.binary(max_size=200),
            json_values.map(lambda v: json.dumps(v).encode()),
            st.fixed_dictionaries({"mobile": json_values, "text": json_values, "time": json_values}).map(
                lambda v: json.dumps(v).encode()
            ),
        )

        @given(bodies)
        def callback(body: bytes) -> None:
            response = client.post("/sms/inbound?token=cb-token-12366", content=body)
            assert response.status_code in (200, 400), (body, response.text)

        callback()
        client.portal.call(client.app.state.channels.conversation.drain)


def test_any_signed_twilio_form_is_accepted_and_its_body_reaches_the_bot():
    with channel_app() as (client, dialogue):

        @given(body=any_text, extra=st.dictionaries(st.text(min_size=1, max_size=8), any_text, max_size=3))
        def twilio(body: str, extra: dict[str, str]) -> None:
            assume(body.strip() and not is_stop_word(body) and not is_full_text_request(body))
            number = next(_ids)
            form = {**extra, "MessageSid": f"SM{number}", "From": f"+86138{number % 10**8:08d}", "Body": body}
            dialogue.calls.clear()
            headers = {"X-Twilio-Signature": twilio_request_signature(TWILIO_TOKEN, TWILIO_URL, form)}
            response = client.post("/sms/inbound/twilio", data=form, headers=headers)
            assert response.status_code == 200, response.text
            client.portal.call(client.app.state.channels.conversation.drain)
            assert dialogue.messages == [body.strip()]

        twilio()
