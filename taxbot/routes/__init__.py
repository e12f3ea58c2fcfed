"""HTTP routes, one module per area, and the dependencies they share (state set by the app's lifespan)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor

from channels.masking import get_logger
from taxbot.rasa_client import RasaClient
from taxbot.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


def get_executor(request: Request) -> ActionExecutor:
    return request.app.state.executor


_DETAIL = {
    "type": "object",
    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}},
    "required": ["detail"],
}
# What any route may answer to a request it cannot read (documented app-wide in OpenAPI): ``detail`` is a
# message a person understands, or FastAPI's list of validation errors
_ERROR = {"application/json": {"schema": _DETAIL}}
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body cannot be read (not UTF-8, not JSON)", "content": _ERROR},
    422: {"description": "A value is missing or not acceptable; `detail` says which", "content": _ERROR},
}

UNSTORABLE = "请求中含有无法保存的内容（如 NUL 控制字符 \\x00 或超长的值），请删除后重试。"


async def unstorable_input(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (PostgreSQL: NUL in text, a value too long): the caller's input, 422."""
    get_logger(__name__).warning("%s %s: the database refused a value: %s", request.method,
                                 request.url.path, getattr(exc, "orig", exc))  # fmt: skip
    return JSONResponse({"detail": UNSTORABLE}, status_code=422)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
RasaDep = Annotated[RasaClient, Depends(get_rasa)]
ExecutorDep = Annotated[ActionExecutor, Depends(get_executor)]
