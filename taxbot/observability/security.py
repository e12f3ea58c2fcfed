"""Security headers, CORS limited to the widget's endpoints, and no default secrets outside development.

Headers on every response: ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` and framing rules —
the staff console (``/staff``, ``/api/staff``) may not be framed at all (clickjacking of an agent's
session); the public pages only by the site itself. The widget is a script (``/widget.js``), so
embedding it on other sites needs no framing. HTML pages get a Content-Security-Policy: scripts and
style sheets only from the site's own files (no inline ``<script>``, ``<style>`` or ``on…=`` handlers);
``style=`` attributes are allowed (``style-src-attr``: the analytics charts size their boxes with them — a
style attribute runs no code, and ``img-src`` keeps ``url()`` from reaching other hosts). The interactive
API docs (``/docs``, ``/redoc``, which load Swagger UI from a CDN) keep no CSP.
``Strict-Transport-Security`` only when ``TAXBOT_HSTS_SECONDS`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels.config import SmsSettings, WeChatSettings
from taxbot.errors import ConfigError
from taxbot.settings import Settings
from taxbot.staff.config import StaffSettings

STAFF_PREFIXES = ("/staff", "/api/staff")
NO_CSP_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
# cross-origin callers: the widget on other (government) sites; it sends no cookies or credentials
WIDGET_API_PREFIXES = ("/api/chat", "/api/regions")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
)
PLACEHOLDERS = frozenset(
    {"change-me", "changeme", "secret", "token", "password", "default", "example", "test"}
)


def is_staff(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in STAFF_PREFIXES)


def policy_headers(path: str, content_type: str, hsts_seconds: int) -> dict[str, str]:
    """The security headers of a response to ``path`` with ``content_type``."""
    staff = is_staff(path)
    headers = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin" if staff else "strict-origin-when-cross-origin",
        "x-frame-options": "DENY" if staff else "SAMEORIGIN",
    }
    if content_type.startswith("text/html") and path not in NO_CSP_PATHS:
        headers["content-security-policy"] = CSP.format(ancestors="'none'" if staff else "'self'")
    if hsts_seconds:
        headers["strict-transport-security"] = f"max-age={hsts_seconds}; includeSubDomains"
    return headers


class SecurityHeadersMiddleware:
    """Adds ``policy_headers`` to every HTTP response (a header the route set itself is kept)."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        self.hsts_seconds = hsts_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {name.decode("latin-1").lower(): value for name, value in raw}
                content_type = present.get("content-type", b"").decode("latin-1")
                for name, value in policy_headers(scope["path"], content_type, self.hsts_seconds).items():
                    if name not in present:
                        raw.append((name.encode(), value.encode()))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WidgetCORSMiddleware:
    """CORS (any origin, no credentials) for the widget's API only; the staff API and the rest stay
    same-origin. The widget's assets set their own ``Access-Control-Allow-Origin`` (channels/web.py)."""

    def __init__(self, app: ASGIApp, prefixes: Iterable[str] = WIDGET_API_PREFIXES) -> None:
        self.app = app
        self.prefixes = tuple(prefixes)
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if any(path == prefix or path.startswith(prefix + "/") for prefix in self.prefixes):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _weak(value: str, min_length: int) -> bool:
    return len(value) < min_length or value.lower() in PLACEHOLDERS or "change" in value.lower()


def secret_problems(
    settings: Settings, staff: StaffSettings, wechat: WeChatSettings, sms: SmsSettings
) -> list[str]:
    """What is wrong with the secrets for a deployment outside development (empty: nothing).

    ``/metrics`` must be protected by a token; a channel secret may stay empty (that channel is off and
    its routes answer 503), but one that is set must not be a placeholder or short.
    """
    problems = []
    metrics_token = settings.metrics_token.get_secret_value()
    if _weak(metrics_token, 16):
        problems.append("TAXBOT_METRICS_TOKEN must be a random value of at least 16 characters")
    if _weak(staff.secret_key.get_secret_value(), 32):
        problems.append("TAXBOT_STAFF_SECRET_KEY must be a random value of at least 32 characters")
    optional = {
        "TAXBOT_WECHAT_TOKEN": (wechat.token, 16),
        "TAXBOT_WECHAT_APP_SECRET": (wechat.app_secret, 16),
        "TAXBOT_SMS_CALLBACK_TOKEN": (sms.callback_token, 16),
        "TAXBOT_SMS_SECRET_KEY": (sms.secret_key, 16),
        "TAXBOT_SMS_TWILIO_AUTH_TOKEN": (sms.twilio_auth_token, 16),
    }
    for name, (value, min_length) in optional.items():
        if value and _weak(value, min_length):
            problems.append(f"{name} is set to a placeholder or shorter than {min_length} characters")
    aes_key = wechat.encoding_aes_key
    if aes_key and (len(aes_key) != 43 or not aes_key.isalnum()):
        problems.append("TAXBOT_WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey")
    return problems


def refuse_default_secrets(
    settings: Settings, staff: StaffSettings, wechat: WeChatSettings, sms: SmsSettings
) -> None:
    """Raise ``ConfigError`` naming every variable to fix, unless the environment is development."""
    if staff.environment == "development":
        return
    problems = secret_problems(settings, staff, wechat, sms)
    if problems:
        raise ConfigError(
            f"refusing to start with TAXBOT_STAFF_ENVIRONMENT={staff.environment!r}: " + "; ".join(problems)
        )
