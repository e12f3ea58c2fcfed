"""The Twilio-style SMS gateway: signed form webhook in, Messages API (with retries) out to a fake."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from channels.sms_gateway import SmsGatewayError
from channels.sms_twilio import TwilioSms, twilio_signature
from tests.channels.conftest import TWILIO_SID, TWILIO_TOKEN, sms_settings
from tests.channels.fakes import FakeTwilio, twilio_request_signature, wait_until

URL = "http://testserver/sms/inbound/twilio"
PHONE = "+8613800138000"


def form(body: str, sid: str = "SM0001", phone: str = PHONE) -> dict[str, str]:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": phone, "To": "+15005550006",
            "Body": body, "NumMedia": "0", "FromCountry": "CN"}  # fmt: skip


def post(client, data: dict[str, str], signature: str | None = None, token: str = TWILIO_TOKEN):
    headers = {"X-Twilio-Signature": signature or twilio_request_signature(token, URL, data)}
    if signature == "":
        headers = {}
    return client.post("/sms/inbound/twilio", data=data, headers=headers)


def settings(twilio: FakeTwilio, sms_gateway, **overrides: object):
    values: dict[str, object] = dict(
        twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN, twilio_from="+15005550006",
        twilio_api_base=twilio.url, retry_backoff=0.0,
    )  # fmt: skip
    values.update(overrides)
    return sms_settings(sms_gateway.url, **values)


def test_signature_matches_the_independent_implementation():
    data = {"From": "+8613800138000", "Body": "个税", "MessageSid": "SM1", "To": "+1500"}
    assert twilio_signature("tok", URL, data.items()) == twilio_request_signature("tok", URL, data)


def test_a_signed_message_is_answered_through_the_messages_api(make_client, dialogue, twilio, sms_gateway):
    with make_client(sms=settings(twilio, sms_gateway)) as client:
        response = post(client, form("个税起征点是多少？"))
        assert response.status_code == 200 and "<Response></Response>" in response.text
        assert response.headers["content-type"].startswith("text/xml")
        wait_until(lambda: len(twilio.messages) == 1)
    assert twilio.messages[0] == {"To": PHONE, "From": "+15005550006", "Body": "答：个税起征点是多少？"}
    sender, message, metadata = dialogue.calls[0]
    assert message == "个税起征点是多少？" and metadata is not None and metadata["channel"] == "sms"
    assert sender.startswith("sms-") and "13800138000" not in sender
    assert sms_gateway.requests == []  # the Tencent gateway is not involved


@pytest.mark.parametrize("signature", ["", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", None])
def test_wrong_or_missing_signature_is_403_and_logged_masked(
    make_client, dialogue, twilio, sms_gateway, caplog, signature
):
    caplog.set_level(logging.INFO)
    with make_client(sms=settings(twilio, sms_gateway)) as client:
        if signature is None:  # signed with another token
            response = post(client, form("x"), token="not-the-token")
        else:
            response = post(client, form("x"), signature=signature)
    assert response.status_code == 403
    assert dialogue.calls == []
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("channels"))
    assert "X-Twilio-Signature" in logged and "13800138000" not in logged and "+86138****8000" in logged


def test_a_tampered_body_fails_the_signature(make_client, dialogue, twilio, sms_gateway):
    data = form("原问题")
    signature = twilio_request_signature(TWILIO_TOKEN, URL, data)
    with make_client(sms=settings(twilio, sms_gateway)) as client:
        assert post(client, {**data, "Body": "改过的问题"}, signature=signature).status_code == 403
    assert dialogue.calls == []


def test_dedup_by_message_sid_and_opt_out(make_client, dialogue, twilio, sms_gateway):
    with make_client(sms=settings(twilio, sms_gateway)) as client:
        post(client, form("增值税", sid="SMa"))
        wait_until(lambda: len(twilio.messages) == 1)
        post(client, form("增值税", sid="SMa"))  # Twilio's retry: no second turn
        post(client, form("STOP", sid="SMb"))
        wait_until(lambda: len(twilio.messages) == 2)
        post(client, form("退订", sid="SMc"))
    assert dialogue.messages == ["增值税"]
    assert twilio.texts[1].startswith("您已退订")
    assert len(twilio.messages) == 2


def test_5xx_is_retried_a_bounded_number_of_times(make_client, dialogue, twilio, sms_gateway, caplog):
    twilio.fail_next = 2
    with make_client(sms=settings(twilio, sms_gateway, send_retries=2)) as client:
        post(client, form("个税", sid="SM1"))
        wait_until(lambda: len(twilio.messages) == 1)
    assert twilio.attempts == 3
    twilio.fail_next = 10
    with make_client(sms=settings(twilio, sms_gateway, send_retries=1)) as client:
        post(client, form("再问", sid="SM2"))
        wait_until(lambda: "sending failed" in caplog.text)
    assert twilio.attempts == 5 and len(twilio.messages) == 1


def test_client_errors_are_not_retried_and_timeouts_are(twilio):
    async def run() -> None:
        wrong = TwilioSms(TWILIO_SID, "wrong-token", sender="+15005550006", base_url=twilio.url, backoff=0)
        with pytest.raises(SmsGatewayError, match="20003"):
            await wrong.send(PHONE, "x")
        await wrong.aclose()
        assert twilio.attempts == 1

        calls = 0

        def timeout(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            raise httpx.ReadTimeout("slow", request=request)

        client = httpx.AsyncClient(transport=httpx.MockTransport(timeout))
        slow = TwilioSms(TWILIO_SID, TWILIO_TOKEN, sender="+1500", retries=2, backoff=0, client=client)
        with pytest.raises(SmsGatewayError, match="Unreachable"):
            await slow.send(PHONE, "x")
        assert calls == 3
        await client.aclose()

    asyncio.run(run())


def test_missing_twilio_configuration_is_503(make_client, sms_gateway):
    with make_client(sms=sms_settings(sms_gateway.url)) as client:
        response = post(client, form("x"))
    assert response.status_code == 503 and "TAXBOT_SMS_TWILIO_ACCOUNT_SID" in response.json()["detail"]
