"""Authentication dependencies: bearer tokens (API) or a signed session cookie with a CSRF token (pages).

Every state-changing request authenticated by the cookie must carry the session's CSRF token (form
field ``csrf_token`` or header ``X-CSRF-Token``); bearer requests carry no ambient credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from taxbot.routes.kb import ServicesDep
from taxbot.staff.accounts import Role, Session, StaffStore, StaffUser
from taxbot.staff.config import StaffSettings

COOKIE = "taxbot_staff"
LOGIN_CSRF_COOKIE = "taxbot_staff_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_staff_settings(request: Request) -> StaffSettings:
    settings = getattr(request.app.state, "staff_settings", None)
    if settings is None:
        settings = StaffSettings()
        request.app.state.staff_settings = settings
    return settings


def get_staff_store(services: ServicesDep, request: Request) -> StaffStore:
    engine = getattr(services.store, "engine", None)
    if engine is None:
        raise HTTPException(status_code=503, detail="the knowledge store is not available")
    cached: StaffStore | None = getattr(request.app.state, "staff_store", None)
    if cached is None or cached.engine is not engine:
        cached = StaffStore(engine)
        request.app.state.staff_store = cached
    return cached


StaffSettingsDep = Annotated[StaffSettings, Depends(get_staff_settings)]
StaffStoreDep = Annotated[StaffStore, Depends(get_staff_store)]


def sign(settings: StaffSettings, value: str) -> str:
    key = settings.secret_key.get_secret_value().encode("utf-8")
    mac = hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()
    return f"{value}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"


def unsign(settings: StaffSettings, signed: str) -> str | None:
    value, _, _ = signed.rpartition(".")
    if not value or not hmac.compare_digest(sign(settings, value), signed):
        return None
    return value


@dataclass(frozen=True)
class Principal:
    user: StaffUser
    session: Session | None = None  # None for bearer-token requests

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""


async def _identify(request: Request, settings: StaffSettings, store: StaffStore) -> Principal | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        user = await run_in_threadpool(store.user_for_token, credentials.strip())
        return Principal(user) if user else None
    signed = request.cookies.get(COOKIE)
    session_id = unsign(settings, signed) if signed else None
    if session_id is None:
        return None
    session = await run_in_threadpool(store.get_session, session_id)
    return Principal(session.user, session) if session else None


async def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.session is None or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, principal.session.csrf_token):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong; reload the page")


async def api_principal(request: Request, settings: StaffSettingsDep, store: StaffStoreDep) -> Principal:
    principal = await _identify(request, settings, store)
    if principal is None:
        raise HTTPException(
            status_code=401, detail="not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    await _check_csrf(request, principal)
    return principal


async def page_principal(request: Request, settings: StaffSettingsDep, store: StaffStoreDep) -> Principal:
    """Like ``api_principal``; an anonymous browser is sent to the login page instead of a 401."""
    principal = await _identify(request, settings, store)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method not in SAFE_METHODS:
            target = "/staff"
        location = f"/staff/login?next={quote(target, safe='')}"
        raise HTTPException(status_code=303, detail="log in first", headers={"Location": location})
    await _check_csrf(request, principal)
    return principal


def _require(role: Role, base: Callable[..., Awaitable[Principal]]) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Principal = Depends(base)) -> Principal:
        if not principal.user.role.allows(role):
            raise HTTPException(status_code=403, detail=f"this needs the {role} role")
        return principal

    return check


ApiUser = Annotated[Principal, Depends(api_principal)]
ApiReviewer = Annotated[Principal, Depends(_require(Role.REVIEWER, api_principal))]
ApiAdmin = Annotated[Principal, Depends(_require(Role.ADMIN, api_principal))]
PageUser = Annotated[Principal, Depends(page_principal)]
PageReviewer = Annotated[Principal, Depends(_require(Role.REVIEWER, page_principal))]
PageAdmin = Annotated[Principal, Depends(_require(Role.ADMIN, page_principal))]
