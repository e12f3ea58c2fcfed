"""`/staff/handoffs`: the handoff desk's pages — the live queue and one conversation (claim, reply, release).

The pages render what is there now; staff.js keeps them current from the API's event streams. The forms
post here with the session's CSRF token and come back to the conversation with a notice (a short code in
the URL, turned into text here, so a link cannot put words on the page).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from taxbot.delivery import PROBLEMS, DeliveryResult, channel_of
from taxbot.staff.accounts import Role
from taxbot.staff.auth import PageUser
from taxbot.staff.config import FORM_BODY_LIMIT
from taxbot.staff.errors import WorkflowError
from taxbot.staff.handoffs import CLAIMED, WAITING
from taxbot.staff.handoffs_api import DeskDep, HandoffId
from taxbot.staff.render import page

router = APIRouter(
    prefix="/staff/handoffs", tags=["staff pages"], include_in_schema=False, max_body_size=FORM_BODY_LIMIT
)
NOTICE = re.compile(r"^(sent|failed|released|claimed)(?::([a-z0-9_]{1,20}))?(?::([\w .\-]{1,40}))?$")


def _notice(code: str, conversation_id: str) -> str:
    """The text of a notice code: ``claimed``, ``sent:<parts>``, ``failed:<problem>:<detail>``,
    ``released`` or ``released:<problem>:<detail>`` (the back-to-bot notice did not reach the taxpayer)."""
    match = NOTICE.match(code)
    if not match:
        return ""
    kind, second, detail = match.groups()
    channel = channel_of(conversation_id)
    if kind == "claimed":
        return "已接管：机器人在该会话中暂停，纳税人的新消息会显示在下方。"
    if kind == "sent":
        parts = int(second) if second and second.isdigit() else 1
        return DeliveryResult(0, channel, True, parts=parts).message
    problem = second if second in PROBLEMS else ""
    if kind == "released":
        failed = DeliveryResult(0, channel, False, problem, detail or "").message if problem else ""
        return "已交还机器人，纳税人的下一条消息由智能咨询回答。" + (
            f"（通知纳税人：{failed}）" if failed else ""
        )
    return DeliveryResult(0, channel, False, problem or "gateway", detail or "").message


def _code(result: DeliveryResult, kind: str) -> str:
    if result.delivered:
        return kind if kind == "released" else f"sent:{result.parts}"
    detail = re.sub(r"[^\w .\-]", "", result.detail)[:40]
    return f"{'released' if kind == 'released' else 'failed'}:{result.problem}" + (
        f":{detail}" if detail else ""
    )


@router.get("", response_class=HTMLResponse)
async def queue_page(request: Request, principal: PageUser, desk: DeskDep) -> HTMLResponse:
    """The queue, kept current by the page's event stream."""
    rows = await run_in_threadpool(desk.queue)
    return page(request, "handoffs.html", principal, rows=rows)


async def _detail(
    request: Request, principal: PageUser, desk: DeskDep, handoff_id: int, *, notice: str = "",
    error: str = "", status_code: int = 200, draft: str = "",
) -> HTMLResponse:  # fmt: skip
    try:
        handoff = await run_in_threadpool(desk.get, handoff_id)
    except WorkflowError as exc:
        return page(request, "handoff_detail.html", principal, exc.status_code, handoff=None, error=str(exc))
    user = principal.user
    mine = handoff["status"] == CLAIMED and handoff["claimed_by"] == user.username
    can_release = handoff["status"] == WAITING or mine or (
        handoff["status"] == CLAIMED and user.role.allows(Role.REVIEWER)
    )  # fmt: skip
    return page(
        request, "handoff_detail.html", principal, status_code, handoff=handoff, mine=mine,
        can_release=can_release, notice=_notice(notice, handoff["conversation_id"]) if notice else "",
        error=error, draft=draft, max_chars=desk.max_chars,
    )  # fmt: skip


@router.get("/{handoff_id}", response_class=HTMLResponse)
async def detail_page(
    request: Request,
    principal: PageUser,
    desk: DeskDep,
    handoff_id: HandoffId,
    notice: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """One conversation: context, transcript (kept current), and the actions the agent may take."""
    return await _detail(request, principal, desk, handoff_id, notice=notice)


def _back(handoff_id: int, code: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/handoffs/{handoff_id}?notice={code}", status_code=303)


@router.post("/{handoff_id}/claim")
async def claim(request: Request, principal: PageUser, desk: DeskDep, handoff_id: HandoffId) -> Response:
    try:
        await run_in_threadpool(desk.claim, handoff_id, principal)
    except WorkflowError as exc:
        return await _detail(
            request, principal, desk, handoff_id, error=str(exc), status_code=exc.status_code
        )
    return _back(handoff_id, "claimed")


@router.post("/{handoff_id}/reply")
async def reply(
    request: Request,
    principal: PageUser,
    desk: DeskDep,
    handoff_id: HandoffId,
    text: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    try:
        result = await desk.reply(handoff_id, principal, text)
    except WorkflowError as exc:
        return await _detail(
            request, principal, desk, handoff_id, error=str(exc), status_code=exc.status_code, draft=text
        )
    return _back(handoff_id, _code(result, "sent"))


@router.post("/{handoff_id}/release")
async def release(request: Request, principal: PageUser, desk: DeskDep, handoff_id: HandoffId) -> Response:
    try:
        _, notice = await desk.release(handoff_id, principal)
    except WorkflowError as exc:
        return await _detail(
            request, principal, desk, handoff_id, error=str(exc), status_code=exc.status_code
        )
    return _back(handoff_id, _code(notice, "released"))
