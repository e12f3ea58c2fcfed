"""Per-request context (request id for the logs) and the HTTP request counter, as pure ASGI middleware.

The request id is the caller's ``X-Request-ID`` when it is a plain token (letters, digits, ``._-``, at
most 64), else a new one; either way it is returned in the response's ``X-Request-ID``. Requests are
counted by route *template* (``/documents/{doc_id}``), never by raw path: ids in paths would be personal
data and unbounded label values.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taxbot.observability.logs import CONVERSATION_ID, REQUEST_ID
from taxbot.observability.metrics import record_http
from taxbot.observability.security import SecurityHeadersMiddleware, WidgetCORSMiddleware
from taxbot.settings import Settings

HEADER = "x-request-id"
UNMATCHED = "<unmatched>"
_CALLER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == HEADER.encode():
            candidate = value.decode("latin-1")
            if _CALLER_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (set by the router), else of the first one
    matching its path (a CORS preflight answered before routing: the method differs), else
    ``<unmatched>``."""
    route = scope.get("route")
    if route is None:
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            match, _ = candidate.matches(scope)
            if match != Match.NONE:
                route = candidate
                break
    return str(getattr(route, "path", None) or UNMATCHED)


class RequestContextMiddleware:
    """Sets the request id (and a fresh conversation id) for the request's log lines; counts requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        status: dict[str, Any] = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                message["headers"] = [*headers, (HEADER.encode(), request_id.encode())]
            await send(message)

        request_token = REQUEST_ID.set(request_id)
        conversation_token = CONVERSATION_ID.set("")
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record_http(scope.get("method", ""), route_template(scope), status["code"])
            CONVERSATION_ID.reset(conversation_token)
            REQUEST_ID.reset(request_token)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the app's middleware: CORS for the widget's endpoints, security headers, request context
    (outermost, so its request id and count cover everything inside)."""
    app.add_middleware(WidgetCORSMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds)
    app.add_middleware(RequestContextMiddleware)
