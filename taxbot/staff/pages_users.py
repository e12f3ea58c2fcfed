"""`/staff/users` (admins): the account list with last login, and forms to create a user, change a role,
disable / enable and reset a password. Forms carry the session's CSRF token; errors re-render the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from taxbot.staff.api_users import Username, UsersDep
from taxbot.staff.auth import PageAdmin, Principal
from taxbot.staff.config import FORM_BODY_LIMIT
from taxbot.staff.deps import call
from taxbot.staff.errors import WorkflowError
from taxbot.staff.render import page
from taxbot.staff.users import PASSWORD_RULE, ROLE_LABELS, UserAdmin, UserCreate, UserUpdate

router = APIRouter(
    prefix="/staff/users", tags=["staff pages"], include_in_schema=False, max_body_size=FORM_BODY_LIMIT
)
Short = Annotated[str, Form(max_length=64)]
Secret = Annotated[str, Form(max_length=256)]
Note = Annotated[str, Query(max_length=64)]
NOTICES = {
    "created": "已创建用户 {}。", "role": "已修改 {} 的角色。", "enabled": "已启用 {}。",
    "disabled": "已停用 {}。", "password": "已重置 {} 的密码，其原有登录已全部失效。",
}  # fmt: skip


def _done(notice: str, username: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/users?done={notice}&user={quote(username, safe='')}", status_code=303)


async def _page(
    request: Request, principal: Principal, users: UserAdmin, *, status_code: int = 200, error: str = "",
    notice: str = "", form: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    return page(
        request, "users.html", principal, status_code, users=await call(users.list), roles=ROLE_LABELS,
        error=error, notice=notice, rule=PASSWORD_RULE, form=form or {"username": "", "role": "agent"},
    )  # fmt: skip


def _invalid(exc: ValidationError) -> str:
    fields = {"username": "用户名", "role": "角色", "password": "密码", "active": "状态"}
    return "；".join(f"{fields.get(str(e['loc'][-1]), '表单')}无效" for e in exc.errors()) + "。"


@router.get("", response_class=HTMLResponse)
async def users_page(
    request: Request, principal: PageAdmin, users: UsersDep, done: Note = "", user: Note = ""
) -> HTMLResponse:
    notice = NOTICES[done].format(user) if done in NOTICES else ""
    return await _page(request, principal, users, notice=notice)


async def _attempt(fn: Callable[..., object], *args: object) -> tuple[int, str]:
    """(0, "") when ``fn`` worked, else (HTTP status, message) of its WorkflowError."""
    try:
        await run_in_threadpool(fn, *args)
    except WorkflowError as exc:
        return exc.status_code, str(exc)
    return 0, ""


@router.post("", response_class=HTMLResponse)
async def create_user(
    request: Request, principal: PageAdmin, users: UsersDep, username: Short, role: Short, password: Secret
) -> Response:
    form = {"username": username, "role": role}
    try:
        body = UserCreate.model_validate({"username": username, "role": role, "password": password})
    except ValidationError as exc:
        return await _page(request, principal, users, status_code=422, error=_invalid(exc), form=form)
    status_code, error = await _attempt(users.create, body, principal.user.username)
    if error:
        return await _page(request, principal, users, status_code=status_code, error=error, form=form)
    return _done("created", username)


async def _change(
    request: Request, principal: Principal, users: UserAdmin, username: str, body: dict
) -> Response:
    try:
        update = UserUpdate.model_validate(body)
    except ValidationError as exc:
        return await _page(request, principal, users, status_code=422, error=_invalid(exc))
    status_code, error = await _attempt(users.change, username, update, principal.user.username)
    if error:
        return await _page(request, principal, users, status_code=status_code, error=error)
    if update.role is not None:
        return _done("role", username)
    return _done("enabled" if update.active else "disabled", username)


@router.post("/{username}/role", response_class=HTMLResponse)
async def change_role(
    request: Request, username: Username, principal: PageAdmin, users: UsersDep, role: Short
) -> Response:
    return await _change(request, principal, users, username, {"role": role})


@router.post("/{username}/active", response_class=HTMLResponse)
async def change_active(
    request: Request, username: Username, principal: PageAdmin, users: UsersDep, active: Short
) -> Response:
    return await _change(request, principal, users, username, {"active": active})


@router.post("/{username}/password", response_class=HTMLResponse)
async def reset_password(
    request: Request, username: Username, principal: PageAdmin, users: UsersDep, password: Secret
) -> Response:
    status_code, error = await _attempt(users.reset_password, username, password, principal.user.username)
    if error:
        return await _page(request, principal, users, status_code=status_code, error=error)
    return _done("password", username)
