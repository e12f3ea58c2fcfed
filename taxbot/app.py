"""The FastAPI application: built once per process by ``create_app`` (uvicorn: ``taxbot.app:create_app``)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date

import sqlalchemy as sa
from fastapi import FastAPI
from rasa_sdk.executor import ActionExecutor
from threadpoolctl import threadpool_limits

from actions import build_actions
from channels import web
from channels.config import SmsSettings, WeChatSettings
from channels.routes import router as channels_router
from knowledge_base.models import SearchHit
from taxbot import __version__
from taxbot.errors import TaxbotError
from taxbot.observability import configure_logging, install
from taxbot.observability.metrics import TimedRetriever
from taxbot.observability.security import refuse_default_secrets
from taxbot.rasa_client import RasaClient
from taxbot.routes import (
    COMMON_RESPONSES,
    chat,
    chat_updates,
    health,
    metrics,
    subscriptions,
    unstorable_input,
    webhook,
)
from taxbot.services import Services, build_services
from taxbot.settings import Settings
from taxbot.staff.config import StaffSettings

logger = logging.getLogger(__name__)


class UnavailableRetriever:
    """Stands in when the knowledge base could not be loaded: every search raises the load error,
    so the bot apologises and offers a human agent while /readyz reports the cause."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def search(
        self,
        query: str,
        *,
        region: str | None = None,
        as_of: date | None = None,
        tax_types: Sequence[str] | None = None,
        k: int = 5,
        include_history: bool = False,
    ) -> list[SearchHit]:
        raise TaxbotError(self.reason)


def _executor(services: Services | None, reason: str | None) -> ActionExecutor:
    retriever = services.retriever if services is not None else UnavailableRetriever(reason or "")
    executor = ActionExecutor()
    for action in build_actions(TimedRetriever(retriever)):
        executor.register_action(action)
    return executor


def _one_native_thread() -> None:
    """One thread for the BLAS and OpenMP libraries (numpy's and faiss's OpenBLAS, OpenMP) in this
    thread, the event loop's, where the actions search: a query is small work, the concurrent turns (and
    Rasa beside the app) already keep the cores busy, and the libraries' idle worker threads spin-wait
    between calls — measured under load, numpy's OpenBLAS helper thread burnt 55 ms CPU per chat turn,
    more than the turn itself. Called after the index is loaded, so the libraries are loaded too."""
    threadpool_limits(limits=1)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    services: Services | None = app.state.injected_services
    error: str | None = None
    if services is None:
        try:
            services = await asyncio.to_thread(build_services, settings)
        except TaxbotError as exc:
            error = f"知识库未就绪：{exc}"
            logger.error("knowledge base not loaded, answering with apologies until fixed: %s", exc)
    app.state.services = services
    app.state.services_error = error
    _one_native_thread()
    app.state.executor = _executor(services, error)
    app.state.rasa = RasaClient(settings.resolved_rasa_url, timeout=settings.rasa_timeout)
    try:
        yield
    finally:
        await app.state.rasa.aclose()
        if services is not None and app.state.injected_services is None:
            services.close()


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The app; ``services`` injected (tests) or built by the lifespan from ``settings``."""
    settings = settings or (services.settings if services is not None else Settings())
    app = FastAPI(
        title="12366 智能咨询",
        version=__version__,
        description="Chat with the tax bot, and Rasa's custom-action webhook.",
        lifespan=_lifespan,
        responses=COMMON_RESPONSES,
    )
    app.state.settings = settings
    # read now: a default secret outside development stops the app at start, not on the first login
    app.state.staff_settings = StaffSettings()
    environment = app.state.staff_settings.environment
    configure_logging(settings.log_level, settings.log_format, environment)
    refuse_default_secrets(settings, app.state.staff_settings, WeChatSettings(), SmsSettings())
    app.state.injected_services = services
    app.add_exception_handler(sa.exc.DataError, unstorable_input)  # e.g. NUL sent to PostgreSQL: 422
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(chat.router)
    app.include_router(webhook.router)
    app.include_router(channels_router)
    app.include_router(web.router)
    app.include_router(chat_updates.router)  # after chat and channels: builds app.state.delivery
    app.include_router(subscriptions.router)  # after chat_updates: pushes through app.state.delivery
    # CORS for the widget's endpoints only, security headers, request ids and metrics (taxbot.observability)
    install(app, settings)
    if importlib.util.find_spec("taxbot.routes.kb") is not None:
        from taxbot.routes.kb import router as kb_router

        app.include_router(kb_router)
    from taxbot.routes.staff import router as staff_router

    app.include_router(staff_router)
    return app
