"""A Twilio-style SMS gateway: webhook signature check in, the Messages API out.

Inbound: Twilio posts ``application/x-www-form-urlencoded`` (``From``, ``To``, ``Body``, ``MessageSid``…)
with ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, full URL + every POST parameter sorted by
name, each as name + value)). Outbound: ``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json``
with form fields ``To``, ``From``, ``Body`` and HTTP basic auth (AccountSid, auth token); the answer is
the message resource (``{"sid": "SM…", "status": "queued", …}``) or ``{"code", "message", "status"}``.
A 5xx answer or a timeout/connection error is retried ``retries`` times with doubling backoff.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterable

import httpx

from channels.sms_gateway import SmsGatewayError


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` of a POST to ``url`` with form ``params``."""
    data = url + "".join(f"{name}{value}" for name, value in sorted(params, key=lambda item: item[0]))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    expected = twilio_signature(auth_token, url, params)
    return bool(signature) and hmac.compare_digest(expected.encode(), signature.encode())


class TwilioSms:
    """``send(phone, text)`` like ``TencentSms``, through the Messages API."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        sender: str,
        base_url: str = "https://api.twilio.com",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send(self, phone_number: str, text: str) -> str:
        """Send ``text`` to ``phone_number`` (E.164); returns the message SID."""
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        sender_field = "MessagingServiceSid" if self.sender.startswith("MG") else "From"
        form = {"To": phone_number, sender_field: self.sender, "Body": text}
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = await self._client.post(url, data=form, auth=(self.account_sid, self._auth_token))
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if last:
                    raise SmsGatewayError("Unreachable", type(exc).__name__) from exc
            else:
                if response.status_code < 500:
                    return self._result(response)
                if last:
                    raise SmsGatewayError(str(response.status_code), "server error, retries exhausted")
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _result(response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError as exc:
            raise SmsGatewayError("InvalidResponse", f"HTTP {response.status_code}, not JSON") from exc
        if not isinstance(data, dict):
            raise SmsGatewayError("InvalidResponse", "not a JSON object")
        if response.status_code >= 400:
            raise SmsGatewayError(str(data.get("code", response.status_code)), str(data.get("message", "")))
        if not data.get("sid"):
            raise SmsGatewayError("InvalidResponse", "no sid")
        return str(data["sid"])
