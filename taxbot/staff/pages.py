"""`/staff`: log in and out, the knowledge search page, the audit log (admins)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from taxbot.routes.kb import ServicesDep
from taxbot.staff.auth import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PageAdmin,
    PageUser,
    StaffSettingsDep,
    StaffStoreDep,
    sign,
    unsign,
)
from taxbot.staff.config import FORM_BODY_LIMIT, StaffSettings
from taxbot.staff.errors import WorkflowError
from taxbot.staff.render import STATIC, page
from taxbot.staff.search import hit_view, parse_filters, run_search

router = APIRouter(
    prefix="/staff", tags=["staff pages"], include_in_schema=False, max_body_size=FORM_BODY_LIMIT
)
ASSETS = {
    "staff.js": "application/javascript; charset=utf-8",
    "staff.css": "text/css; charset=utf-8",
    "analytics.js": "application/javascript; charset=utf-8",  # the charts of /staff/analytics
}


def _safe_next(target: str) -> str:
    """Only paths inside the console (no open redirects)."""
    if target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/search"


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    """The console's own CSS and JS (public: the login page needs them)."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail="no such file")
    body = (STATIC / name).read_text(encoding="utf-8")
    return Response(body, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get("", response_class=HTMLResponse)
async def home(principal: PageUser) -> RedirectResponse:
    return RedirectResponse("/staff/search", status_code=303)


def _login_page(
    request: Request, settings: StaffSettings, next_url: str, error: str = "", status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, status_code, login_csrf=token, next=next_url, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, sign(settings, token), httponly=True, samesite="lax",
        secure=settings.cookie_secure, path="/staff/login", max_age=3600,
    )  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, settings: StaffSettingsDep, next: Annotated[str, Query(max_length=500)] = ""
) -> HTMLResponse:
    return _login_page(request, settings, _safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    settings: StaffSettingsDep,
    store: StaffStoreDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    target = _safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or unsign(settings, cookie) != csrf_token:
        return _login_page(request, settings, target, "页面已过期，请重新登录。", 403)
    user = await run_in_threadpool(store.authenticate, username, password)
    if user is None:
        return _login_page(request, settings, target, "用户名或密码错误，或账号已停用。", 401)
    lifetime = timedelta(hours=settings.session_hours)
    session_id, _ = await run_in_threadpool(store.create_session, user, lifetime)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, sign(settings, session_id), httponly=True, samesite="lax", secure=settings.cookie_secure,
        path="/", max_age=int(lifetime.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/staff/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, principal: PageUser, settings: StaffSettingsDep, store: StaffStoreDep
) -> Response:
    session_id = unsign(settings, request.cookies.get(COOKIE, ""))
    if session_id:
        await run_in_threadpool(store.end_session, session_id)
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request,
    principal: PageUser,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=500)] = "",
    region: str = "",
    tax_type: str = "",
    doc_type: str = "",
    history: bool = False,
    as_of: str = "",
) -> HTMLResponse:
    """One search box with filters; FAQ answers first; each hit with its document, status, a copy button."""
    form = {
        "q": q,
        "region": region,
        "tax_type": tax_type,
        "doc_type": doc_type,
        "history": history,
        "as_of": as_of,
    }
    hits, error, status_code = [], "", 200
    if q.strip():
        try:
            filters = await run_in_threadpool(
                parse_filters, q, region, tax_type, doc_type, history, as_of, 20
            )
            hits = [hit_view(h) for h in await run_in_threadpool(run_search, services.retriever, filters)]
        except WorkflowError as exc:
            error, status_code = str(exc), exc.status_code
    tax_types = sorted(getattr(getattr(services.retriever, "table", None), "tax_vocabulary", []) or [])
    return page(
        request, "search.html", principal, status_code, form=form, hits=hits, error=error,
        searched=bool(q.strip()), tax_types=tax_types,
    )  # fmt: skip


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(request: Request, principal: PageAdmin, store: StaffStoreDep) -> HTMLResponse:
    """Who changed what and when (admins)."""
    rows = await run_in_threadpool(store.audit_log, limit=500)
    users = await run_in_threadpool(store.list_users)
    return page(request, "audit.html", principal, rows=rows, users=users)
