"""Web taxpayers' policy subscriptions: `POST/GET/DELETE /api/subscriptions`, the page `/subscribe?sender=`.

Keyed by the widget's sender id like `POST /api/chat` (unguessable, random per browser); WeChat and SMS
conversation ids are refused here — those taxpayers subscribe with commands in their channel
(``taxbot.subscriptions.commands``). Values are checked against the project's lists (422 in Chinese,
listing the valid ones). The page is a plain form (no script, no CDN) the widget can link to.

Including the router merges ``subscriptions_lifespan`` into the app's: the subscription store
(``app.state.subscriptions``) and the push dispatcher (``app.state.subscription_dispatcher``), which needs
the knowledge store and ``app.state.delivery`` — include it after ``taxbot.routes.chat_updates``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from alembic.util import CommandError
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from channels.masking import get_logger
from knowledge_base.loaders.metadata import TAX_TYPES
from knowledge_base.models import NATIONAL
from knowledge_base.store import KnowledgeStore
from taxbot.routes.limits import RATE_LIMITED_RESPONSES, IpLimited
from taxbot.settings import Settings
from taxbot.subscriptions.config import SubscriptionSettings
from taxbot.subscriptions.dispatcher import Dispatcher
from taxbot.subscriptions.profile import REGIONS, TAXPAYER_TYPES, InvalidProfile, Profile, validate
from taxbot.subscriptions.store import Subscription, SubscriptionStore, open_subscription_store

logger = get_logger(__name__)
TEMPLATES = Path(__file__).resolve().parent.parent / "subscriptions" / "templates"
NOT_WEB = "网页订阅只接受网页对话的编号；微信和短信用户请在对话中发送“订阅 税种 纳税人类型 地区”。"
NO_SUBSCRIPTION = "该对话没有政策订阅。"
UNAVAILABLE = "政策订阅暂时不可用，请稍后再试。"
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the sender id is in the URL


@asynccontextmanager
async def subscriptions_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = getattr(app.state, "settings", None)
    url = (settings if isinstance(settings, Settings) else Settings()).resolved_database_url
    config = getattr(app.state, "subscription_settings", None) or SubscriptionSettings()
    app.state.subscription_settings = config
    store: SubscriptionStore | None = None
    try:
        store = await asyncio.to_thread(open_subscription_store, url)
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        logger.error("subscription store not opened; subscriptions answer 503, nothing is pushed: %s", exc)
    app.state.subscriptions = store
    kb = getattr(getattr(app.state, "services", None), "store", None)
    delivery = getattr(app.state, "delivery", None)
    dispatcher, task = None, None
    if store is not None and isinstance(kb, KnowledgeStore) and delivery is not None:
        dispatcher = Dispatcher(
            store, kb, delivery.deliver, daily_limit=config.daily_limit, interval=config.interval_seconds
        )
        try:
            await dispatcher.start()
        except sa.exc.SQLAlchemyError as exc:
            logger.error("subscription cursor not set, the dispatcher sets it on its first round: %s", exc)
        if config.enabled:
            task = asyncio.create_task(dispatcher.run(), name="subscription-dispatcher")
    app.state.subscription_dispatcher = dispatcher
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if store is not None:
            store.close()


# every route is public (the widget's sender id is the only key): limited per client address
router = APIRouter(
    tags=["subscriptions"], lifespan=subscriptions_lifespan, dependencies=[IpLimited],
    responses=RATE_LIMITED_RESPONSES,
)  # fmt: skip


def get_store(request: Request) -> SubscriptionStore:
    store = getattr(request.app.state, "subscriptions", None)
    if store is None:
        raise HTTPException(status_code=503, detail=UNAVAILABLE)
    return store


StoreDep = Annotated[SubscriptionStore, Depends(get_store)]
Sender = Annotated[str, Query(min_length=1, max_length=128, description="The widget's sender id")]


class SubscriptionRequest(BaseModel):
    sender: str = Field(min_length=1, max_length=128, description="The widget's sender id")
    tax_types: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=30)
    taxpayer_types: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=30)
    region: str = Field(default="", max_length=40, description="Province or city; empty = national only")


class SubscriptionPublic(BaseModel):
    sender: str
    tax_types: list[str]
    taxpayer_types: list[str]
    region: str
    description: str
    daily_limit: int


def _web_sender(sender: str) -> str:
    sender = sender.strip()
    if not sender or sender.startswith(("wechat:", "sms-")):
        raise HTTPException(status_code=422, detail=NOT_WEB)
    return sender


def _public(request: Request, sub: Subscription) -> SubscriptionPublic:
    p, limit = sub.profile, request.app.state.subscription_settings.daily_limit
    return SubscriptionPublic(
        sender=sub.conversation_id, tax_types=list(p.tax_types), taxpayer_types=list(p.taxpayer_types),
        region=p.region, description=p.describe(), daily_limit=limit,
    )  # fmt: skip


async def _call(fn: Any, *args: Any) -> Any:
    try:
        return await fn(*args)
    except sa.exc.SQLAlchemyError as exc:
        logger.error("subscription store failed: %s", exc)
        raise HTTPException(status_code=503, detail=UNAVAILABLE) from None


@router.post("/api/subscriptions", responses={422: {}, 503: {}})
async def subscribe(body: SubscriptionRequest, request: Request, store: StoreDep) -> SubscriptionPublic:
    """Create or replace the sender's subscription; unknown values → 422 naming the valid ones."""
    sender = _web_sender(body.sender)
    try:
        profile = validate(body.tax_types, body.taxpayer_types, body.region)
    except InvalidProfile as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return _public(request, await _call(store.asubscribe, sender, "web", profile))


@router.get("/api/subscriptions", responses={404: {}, 422: {}, 503: {}})
async def my_subscription(sender: Sender, request: Request, store: StoreDep) -> SubscriptionPublic:
    found = await _call(store.aget, _web_sender(sender))
    if found is None:
        raise HTTPException(status_code=404, detail=NO_SUBSCRIPTION)
    return _public(request, found)


@router.delete(
    "/api/subscriptions", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}, 422: {}, 503: {}}
)
async def unsubscribe(sender: Sender, store: StoreDep) -> None:
    if not await _call(store.aunsubscribe, _web_sender(sender)):
        raise HTTPException(status_code=404, detail=NO_SUBSCRIPTION)


# -- the page ----------------------------------------------------------------------------------------
@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def _page(request: Request, sender: str, profile: Profile | None, *, status_code: int = 200, **extra: Any):
    body = _templates().get_template("subscribe.html").render(
        sender=sender, profile=profile or Profile(), subscribed=profile is not None, tax_types=TAX_TYPES,
        taxpayer_types=TAXPAYER_TYPES, regions=REGIONS, notice=extra.get("notice", ""),
        error=extra.get("error", ""), daily_limit=request.app.state.subscription_settings.daily_limit,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)


def _page_sender(sender: str) -> str:
    sender = sender.strip()
    return "" if len(sender) > 128 or sender.startswith(("wechat:", "sms-")) else sender


@router.get("/subscribe", response_class=HTMLResponse, include_in_schema=False)
async def subscribe_page(request: Request, store: StoreDep, sender: str = "") -> HTMLResponse:
    sender = _page_sender(sender)
    found = await _call(store.aget, sender) if sender else None
    return _page(request, sender, found.profile if found else None, status_code=200 if sender else 400)


@router.post("/subscribe", response_class=HTMLResponse, include_in_schema=False)
async def subscribe_form(
    request: Request,
    store: StoreDep,
    sender: Annotated[str, Form(max_length=200)] = "",
    tax_types: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    taxpayer_types: Annotated[list[str], Form()] = [],  # noqa: B006
    region: Annotated[str, Form(max_length=40)] = NATIONAL,
) -> HTMLResponse:
    sender = _page_sender(sender)
    if not sender:
        return _page(request, "", None, status_code=400)
    try:
        profile = validate(tax_types[:30], taxpayer_types[:30], region)
    except InvalidProfile as exc:
        found = await _call(store.aget, sender)
        return _page(request, sender, found.profile if found else None, status_code=422, error=str(exc))
    await _call(store.asubscribe, sender, "web", profile)
    return _page(request, sender, profile, notice=f"已订阅：{profile.describe()}。")


@router.post("/subscribe/cancel", response_class=HTMLResponse, include_in_schema=False)
async def cancel_form(
    request: Request, store: StoreDep, sender: Annotated[str, Form(max_length=200)] = ""
) -> HTMLResponse:
    sender = _page_sender(sender)
    if not sender:
        return _page(request, "", None, status_code=400)
    done = await _call(store.aunsubscribe, sender)
    return _page(request, sender, None, notice="已取消政策订阅。" if done else NO_SUBSCRIPTION)
