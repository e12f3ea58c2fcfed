"""Tencent Cloud SMS ``SendSms`` (API version 2021-01-11), signed with TC3-HMAC-SHA256.

Request: ``POST {api_base}/`` with headers ``X-TC-Action: SendSms``, ``X-TC-Version: 2021-01-11``,
``X-TC-Timestamp``, ``X-TC-Region`` and ``Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/
tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=<hex>``; JSON body
``{"PhoneNumberSet": ["+86…"], "SmsSdkAppId", "SignName", "TemplateId", "TemplateParamSet": [text]}``.
Answer: ``{"Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo", …}], "RequestId"}}`` or
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.

Mainland SMS can only be sent through an approved template: the text goes into the one variable of
``template_id`` (e.g. "{1}" approved as a 通知 template with an extended variable length).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from taxbot.errors import TaxbotError

SERVICE = "sms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"


class SmsGatewayError(TaxbotError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"Tencent Cloud SMS error {code}: {message}")
        self.code = code


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    *,
    host: str,
    action: str,
    payload: bytes,
    timestamp: int,
    service: str = SERVICE,
) -> str:
    """The ``Authorization`` header of a POST to ``host`` (canonical request → string to sign → key chain)."""
    canonical_headers = f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, SIGNED_HEADERS, hashlib.sha256(payload).hexdigest()]
    )
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )

    def _hmac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing_key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), day), service), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )


class TencentSms:
    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        *,
        sdk_app_id: str,
        sign_name: str,
        template_id: str,
        region: str = "ap-guangzhou",
        base_url: str = "https://sms.tencentcloudapi.com",
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_id = template_id
        self.region = region
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send(self, phone_number: str, text: str) -> str:
        """Send ``text`` to ``phone_number`` (E.164, "+8613…"); returns the SerialNo."""
        body = {
            "PhoneNumberSet": [phone_number],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": self.template_id,
            "TemplateParamSet": [text],
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            "Authorization": tc3_authorization(
                self.secret_id, self._secret_key, host=self.host, action="SendSms", payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.region,
        }  # fmt: skip
        try:
            response = await self._client.post(f"{self.base_url}/", content=payload, headers=headers)
            data = response.json()
        except httpx.HTTPError as exc:
            raise SmsGatewayError("Unreachable", type(exc).__name__) from exc
        except ValueError as exc:
            raise SmsGatewayError("InvalidResponse", f"HTTP {response.status_code}, not JSON") from exc
        result = data.get("Response") if isinstance(data, dict) else None
        if not isinstance(result, dict):
            raise SmsGatewayError("InvalidResponse", "no Response object")
        if isinstance(result.get("Error"), dict):
            error = result["Error"]
            raise SmsGatewayError(str(error.get("Code")), str(error.get("Message")))
        statuses = result.get("SendStatusSet") or []
        if not statuses or statuses[0].get("Code") != "Ok":
            status = statuses[0] if statuses else {}
            raise SmsGatewayError(str(status.get("Code", "NoStatus")), str(status.get("Message", "")))
        return str(statuses[0].get("SerialNo", ""))
