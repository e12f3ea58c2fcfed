"""`/staff/subscriptions` and `/api/staff/subscriptions` (agents and up): active subscriptions counted by
region, tax type, taxpayer type and channel, and the push log — when, what, to whom, with what result.

Subscribers appear only as pseudonyms (``微信-1a2b3c4d``): an openid, a phone number's pseudonym or a
widget's sender id is never shown; details are masked.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from channels.masking import mask
from taxbot.delivery import CHANNEL_NAMES, channel_of
from taxbot.routes.subscriptions import StoreDep
from taxbot.staff.auth import ApiUser, PageUser
from taxbot.staff.render import page
from taxbot.subscriptions.store import STATUS_LABELS, Push, SubscriptionStore

api = APIRouter(prefix="/api/staff/subscriptions", tags=["staff subscriptions"])
pages = APIRouter(prefix="/staff/subscriptions", tags=["staff pages"], include_in_schema=False)
Status = Annotated[str | None, Query(description="Only pushes with this status")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Newest pushes to return")]
KINDS = {"document": "政策文件", "faq": "问答"}


def pseudonym(conversation_id: str) -> str:
    """A short stable label such as ``微信-1a2b3c4d`` (the same scheme as the analytics pages)."""
    digest = hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:8]
    return f"{CHANNEL_NAMES[channel_of(conversation_id)]}-{digest}"


def _push(push: Push) -> dict[str, Any]:
    return {
        "id": push.id, "at": push.pushed_at, "kind": push.item_kind,
        "kind_text": KINDS.get(push.item_kind, ""), "key": push.item_key, "title": mask(push.title),
        "to": pseudonym(push.conversation_id),
        "channel": push.channel, "channel_text": CHANNEL_NAMES.get(push.channel, push.channel),
        "status": push.status, "status_text": STATUS_LABELS.get(push.status, push.status),
        "detail": mask(push.detail),
    }  # fmt: skip


def _overview(store: SubscriptionStore, limit: int, status: str | None) -> dict[str, Any]:
    counts = store.counts()
    return {
        "active": sum(counts["channel"].values()), "counts": counts,
        "pushes": [_push(p) for p in store.push_log(limit=limit, status=status)],
    }  # fmt: skip


@api.get("", responses={401: {}, 403: {}, 503: {}})
async def overview(principal: ApiUser, store: StoreDep, limit: Limit = 200, status: Status = None) -> dict:
    """`{"active", "counts": {"region"|"tax_type"|"taxpayer_type"|"channel": {name: n}}, "pushes": [...]}`,
    the newest pushes first; ``to`` is a pseudonym, never the conversation id."""
    return await run_in_threadpool(_overview, store, limit, status)


@pages.get("", response_class=HTMLResponse)
async def overview_page(request: Request, principal: PageUser, store: StoreDep) -> HTMLResponse:
    data = await run_in_threadpool(_overview, store, 200, None)
    return page(request, "subscriptions.html", principal, channels=CHANNEL_NAMES, **data)
