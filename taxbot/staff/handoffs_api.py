"""`/api/staff/handoffs`: the handoff desk's JSON API and its Server-Sent Events (every staff role).

The two event streams (the queue; one conversation; not in the OpenAPI document, which cannot describe a
stream, and whose generated clients would hold it open) poll the database every ``POLL_SECONDS`` and send a
``data:`` event whenever what they show changed, so they work with several app replicas behind a balancer.
A stream ends after ``seconds`` (default 60); EventSource reconnects by itself (``retry:``), which also
checks the session again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from taxbot.delivery import DeliveryResult
from taxbot.staff.auth import ApiUser, StaffStoreDep
from taxbot.staff.config import FORM_BODY_LIMIT
from taxbot.staff.errors import WorkflowError
from taxbot.staff.handoffs import HandoffDesk, handoff_public

T = TypeVar("T")
POLL_SECONDS = 1.0
RETRY_MS = 2000
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}

router = APIRouter(prefix="/api/staff/handoffs", tags=["staff handoffs"], max_body_size=FORM_BODY_LIMIT)


def get_desk(request: Request, staff: StaffStoreDep) -> HandoffDesk:
    state = request.app.state
    conversations = getattr(state, "conversations", None)
    if conversations is None:
        raise HTTPException(status_code=503, detail="对话记录库不可用，人工接管工作台暂时无法使用。")
    return HandoffDesk(
        conversations, staff, getattr(state, "delivery", None), state.settings.max_message_chars
    )


DeskDep = Annotated[HandoffDesk, Depends(get_desk)]


async def run(work: Awaitable[T]) -> T:
    """``work`` awaited; a WorkflowError becomes an HTTPException with its status and message."""
    try:
        return await work
    except WorkflowError as exc:
        raise HTTPException(status_code=exc.status_code, detail=str(exc)) from None


class HandoffReply(BaseModel):
    text: str = Field(default="", description="The agent's message to the taxpayer")


def delivery_public(result: DeliveryResult) -> dict[str, Any]:
    return {
        "turn_id": result.turn_id, "channel": result.channel, "delivered": result.delivered,
        "problem": result.problem, "parts": result.parts, "message": result.message,
    }  # fmt: skip


def _comparable(snapshot: Any) -> str:
    """The snapshot without the ever-growing waiting times (the page counts those itself)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "waiting_seconds"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(snapshot), ensure_ascii=False, sort_keys=True, default=str)


async def _events(request: Request, snapshot: Callable[[], Any], seconds: float) -> AsyncIterator[str]:
    # hand-written rather than sse-starlette: four lines of the text/event-stream format are all it needs
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last = None
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        try:
            current = await run_in_threadpool(snapshot)
        except WorkflowError as exc:
            yield f"event: gone\ndata: {json.dumps({'detail': str(exc)}, ensure_ascii=False)}\n\n"
            return
        key = _comparable(current)
        if key != last:
            last = key
            body = {"server_time": datetime.now(UTC).isoformat(), "data": current}
            yield f"data: {json.dumps(body, ensure_ascii=False, default=str)}\n\n"
        else:
            yield ": idle\n\n"  # keeps proxies from closing the connection, and notices a gone client
        if loop.time() + POLL_SECONDS > deadline or await request.is_disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)


def _stream(request: Request, snapshot: Callable[[], Any], seconds: float) -> StreamingResponse:
    return StreamingResponse(
        _events(request, snapshot, seconds), media_type="text/event-stream", headers=STREAM_HEADERS
    )


Seconds = Annotated[float, Query(ge=1, le=300, description="How long the stream stays open")]
HandoffId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the column's range: a larger id is a 422, not a 500


@router.get("")
async def queue(principal: ApiUser, desk: DeskDep) -> list[dict[str, Any]]:
    """Waiting and claimed handoffs, oldest first: channel, reason, region, waiting time, the taxpayer's
    question and the bot's last attempt with its sources."""
    return await run(run_in_threadpool(desk.queue))


@router.get("/events", response_class=StreamingResponse, include_in_schema=False)
async def queue_events(request: Request, principal: ApiUser, desk: DeskDep, seconds: Seconds = 60) -> Any:
    """The queue as Server-Sent Events: one event now and one whenever it changes."""
    return _stream(request, desk.queue, seconds)


@router.get("/{handoff_id}")
async def get_handoff(handoff_id: HandoffId, principal: ApiUser, desk: DeskDep) -> dict[str, Any]:
    """One handoff with the conversation's masked transcript."""
    return await run(run_in_threadpool(desk.get, handoff_id))


@router.get("/{handoff_id}/events", response_class=StreamingResponse, include_in_schema=False)
async def handoff_events(
    request: Request, handoff_id: HandoffId, principal: ApiUser, desk: DeskDep, seconds: Seconds = 60
) -> Any:
    """One handoff and its transcript as Server-Sent Events (404 when there is no such handoff)."""
    await run(run_in_threadpool(desk.get, handoff_id))
    return _stream(request, lambda: desk.get(handoff_id), seconds)


@router.post("/{handoff_id}/claim", responses={404: {}, 409: {"description": "Claimed by someone else"}})
async def claim(handoff_id: HandoffId, principal: ApiUser, desk: DeskDep) -> dict[str, Any]:
    """Take the conversation (the bot stays silent in it); claiming one's own claim again is a no-op."""
    return handoff_public(await run(run_in_threadpool(desk.claim, handoff_id, principal)))


@router.post("/{handoff_id}/reply", responses={403: {}, 404: {}, 409: {}, 422: {}})
async def reply(
    handoff_id: HandoffId, body: HandoffReply, principal: ApiUser, desk: DeskDep
) -> dict[str, Any]:
    """Send the taxpayer a message through their channel; ``delivered`` false (and ``message`` why) when
    the channel refused it — the message is in the transcript either way."""
    return delivery_public(await run(desk.reply(handoff_id, principal, body.text)))


@router.post("/{handoff_id}/release", responses={403: {}, 404: {}, 409: {}})
async def release(handoff_id: HandoffId, principal: ApiUser, desk: DeskDep) -> dict[str, Any]:
    """Back to the bot; the taxpayer is told so (``notice``)."""
    handoff, notice = await run(desk.release(handoff_id, principal))
    return {"handoff": handoff_public(handoff), "notice": delivery_public(notice)}
