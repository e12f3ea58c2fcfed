"""The FastAPI application: built once per process by ``create_app`` (uvicorn: ``taxbot.app:create_app``)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from rasa_sdk.executor import ActionExecutor

from actions import build_actions
from channels import web
from channels.routes import router as channels_router
from knowledge_base.models import SearchHit
from taxbot import __version__
from taxbot.errors import TaxbotError
from taxbot.rasa_client import RasaClient
from taxbot.routes import chat, health, webhook
from taxbot.services import Services, build_services
from taxbot.settings import Settings
from taxbot.staff.config import StaffSettings

logger = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s  %(message)s"


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
    for action in build_actions(retriever):
        executor.register_action(action)
    return executor


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
    logging.basicConfig(level=settings.log_level.upper(), format=LOG_FORMAT)
    app = FastAPI(
        title="12366 智能咨询",
        version=__version__,
        description="Chat with the tax bot, and Rasa's custom-action webhook.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    # read now: a default secret outside development stops the app at start, not on the first login
    app.state.staff_settings = StaffSettings()
    app.state.injected_services = services
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(webhook.router)
    app.include_router(channels_router)
    app.include_router(web.router)
    # the widget runs on other (government) sites and calls /api/chat and /api/regions cross-origin;
    # it sends no cookies or credentials (the sender id is in the body)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    if importlib.util.find_spec("taxbot.routes.kb") is not None:
        from taxbot.routes.kb import router as kb_router

        app.include_router(kb_router)
    from taxbot.routes.staff import router as staff_router

    app.include_router(staff_router)
    return app
