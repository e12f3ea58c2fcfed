"""Fakes for what cannot run here, speaking the real wire formats over real HTTP on 127.0.0.1.

* ``FakeWeChatAPI``: ``GET /cgi-bin/token`` and ``POST /cgi-bin/message/custom/send`` with WeChat's
  JSON, errcodes included (40013 wrong appid/secret, 40001/42001 invalid/expired token);
* ``FakeTencentSms``: the ``SendSms`` 2021-01-11 endpoint, checking the TC3-HMAC-SHA256 signature
  with its own implementation of the published algorithm;
* ``FakeDialogue``: the bot core, answering like Rasa's REST channel;
* ``wechat_encrypt`` / ``wechat_decrypt``: the official AES message format, written from the spec
  (not with wechatpy) so the channel's crypto is checked against an independent implementation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

APP_ID = "wx1234567890abcdef"  # the Official Account the fakes and the tests share
APP_SECRET = "secret-of-the-official-account"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


# --- the bot core -----------------------------------------------------------------------------------
class FakeDialogue:
    """Rasa REST-shaped replies from ``answer(sender, message)``; records every call."""

    def __init__(self, answer: Callable[[str, str], list[dict[str, Any]]] | None = None, delay: float = 0.0):
        self.answer = answer or (lambda sender, message: [{"recipient_id": sender, "text": f"答：{message}"}])
        self.delay = delay
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.calls.append((sender, message, metadata))
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer(sender, message)

    @property
    def messages(self) -> list[str]:
        return [message for _, message, _ in self.calls]


# --- WeChat message crypto, from the spec -------------------------------------------------------------
def wechat_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def wechat_encrypt(xml: str, encoding_aes_key: str, app_id: str) -> str:
    """base64(AES-256-CBC(random16 + len(xml) big-endian + xml + appid, PKCS#7 to 32)), IV = key[:16]."""
    key = base64.b64decode(encoding_aes_key + "=")
    data = os.urandom(16) + struct.pack(">I", len(xml.encode())) + xml.encode() + app_id.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def wechat_decrypt(encrypted: str, encoding_aes_key: str) -> tuple[str, str]:
    """(xml, appid) from an ``Encrypt`` value."""
    key = base64.b64decode(encoding_aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    data = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    data = data[: -data[-1]]
    length = struct.unpack(">I", data[16:20])[0]
    return data[20 : 20 + length].decode(), data[20 + length :].decode()


# --- HTTP servers -------------------------------------------------------------------------------------
class _Server:
    def __init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._dispatch(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake._dispatch(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.lock = threading.Lock()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _dispatch(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        status, data = self.handle(handler, body)
        raw = json.dumps(data, ensure_ascii=False).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


class FakeWeChatAPI(_Server):
    def __init__(self, app_id: str, app_secret: str) -> None:
        super().__init__()
        self.app_id, self.app_secret = app_id, app_secret
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        self.rejections: list[int] = []

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    @property
    def texts(self) -> list[str]:
        return [m["text"]["content"] for m in self.sent]

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        url = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.lock:
            if url.path == "/cgi-bin/token" and handler.command == "GET":
                if query.get("grant_type") != "client_credential":
                    return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
                if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
                    return 200, {"errcode": 40013, "errmsg": "invalid appid"}
                token = f"ACCESS_TOKEN_{len(self.tokens_issued) + 1}"
                self.tokens_issued.append(token)
                self.valid_tokens.add(token)
                return 200, {"access_token": token, "expires_in": 7200}
            if url.path == "/cgi-bin/message/custom/send" and handler.command == "POST":
                token = query.get("access_token", "")
                if token not in self.tokens_issued:
                    self.rejections.append(40001)
                    return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
                if token not in self.valid_tokens:
                    self.rejections.append(42001)
                    return 200, {"errcode": 42001, "errmsg": "access_token expired"}
                message = json.loads(body.decode("utf-8"))
                if message.get("msgtype") != "text" or not message.get("touser"):
                    return 200, {"errcode": 40008, "errmsg": "invalid message type"}
                if len(message["text"]["content"].encode()) > 2048:
                    return 200, {"errcode": 45002, "errmsg": "content size out of limit"}
                self.raw_bodies.append(body)
                self.sent.append(message)
                return 200, {"errcode": 0, "errmsg": "ok"}
        return 404, {"errcode": -1, "errmsg": "not found"}


def tc3_signature(secret_key: str, headers: dict[str, str], body: bytes) -> tuple[str, str, str]:
    """(credential scope, signed headers, signature) recomputed from the request as Tencent Cloud does."""
    authorization = headers["authorization"]
    algorithm, rest = authorization.split(" ", 1)
    assert algorithm == "TC3-HMAC-SHA256"
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(
        f"{name}:{headers[name].strip().lower() if name == 'x-tc-action' else headers[name].strip()}\n"
        for name in signed
    )
    canonical = "\n".join(
        ["POST", "/", "", canonical_headers, fields["SignedHeaders"], hashlib.sha256(body).hexdigest()]
    )
    timestamp = int(headers["x-tc-timestamp"])
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{day}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("TC3" + secret_key).encode()
    for part in (day, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return fields["Credential"], fields["SignedHeaders"], expected if expected == fields["Signature"] else ""


class FakeTencentSms(_Server):
    def __init__(self, secret_id: str, secret_key: str, sdk_app_id: str) -> None:
        super().__init__()
        self.secret_id, self.secret_key, self.sdk_app_id = secret_id, secret_key, sdk_app_id
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    @property
    def texts(self) -> list[str]:
        return [r["TemplateParamSet"][0] for r in self.requests]

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        request_id = f"req-{len(self.requests) + 1}"

        def error(code: str, message: str) -> tuple[int, dict[str, Any]]:
            return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}

        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return error("InvalidAction", "action or version not supported")
        if abs(time.time() - int(headers.get("x-tc-timestamp", "0"))) > 300:
            return error("AuthFailure.SignatureExpire", "timestamp too far from server time")
        try:
            credential, signed_headers, signature = tc3_signature(self.secret_key, headers, body)
        except (KeyError, ValueError, AssertionError):
            return error("AuthFailure.InvalidAuthorization", "malformed Authorization header")
        if not credential.startswith(f"{self.secret_id}/") or not signature:
            return error("AuthFailure.SignatureFailure", "signature mismatch")
        if "content-type" not in signed_headers.split(";") or "host" not in signed_headers.split(";"):
            return error("AuthFailure.InvalidAuthorization", "content-type and host must be signed")
        data = json.loads(body.decode("utf-8"))
        if data.get("SmsSdkAppId") != self.sdk_app_id:
            return error("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist")
        with self.lock:
            self.requests.append(data)
            self.headers.append(headers)
        statuses = [
            {"SerialNo": f"2433:{len(self.requests)}", "PhoneNumber": phone, "Fee": 1, "SessionContext": "",
             "Code": "Ok", "Message": "send success", "IsoCode": "CN"}
            for phone in data["PhoneNumberSet"]
        ]  # fmt: skip
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Twilio-style SMS -----------------------------------------------------------------------------------
def twilio_request_signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    """``X-Twilio-Signature`` as Twilio documents it, written here apart from the channel's code."""
    data = url
    for name in sorted(form):
        data += name + form[name]
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class FakeTwilio(_Server):
    """``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: form To/From/Body, basic auth; answers the
    message resource (201) or Twilio's error JSON. ``fail_next`` answers that many requests with 503."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[dict[str, str]] = []
        self.attempts = 0
        self.fail_next = 0

    @property
    def texts(self) -> list[str]:
        return [m["Body"] for m in self.messages]

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.attempts += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"code": 20503, "message": "Service unavailable", "status": 503}
        if (
            handler.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
            or handler.command != "POST"
        ):
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if not (handler.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return 400, {"code": 20001, "message": "form body expected", "status": 400}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, {
                "code": 21604,
                "message": "A 'To' and 'From' phone number is required.",
                "status": 400,
            }
        if not form.get("Body"):
            return 400, {"code": 21602, "message": "Message body is required.", "status": 400}
        with self.lock:
            self.messages.append(form)
            sid = f"SM{len(self.messages):032x}"
        return 201, {"sid": sid, "account_sid": self.account_sid, "to": form["To"], "from": form.get("From"),
                     "body": form["Body"], "status": "queued", "num_segments": "1"}  # fmt: skip
