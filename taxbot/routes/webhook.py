"""Rasa's action server, in-process: `POST /webhook` and `GET /actions`, mirroring rasa_sdk.endpoint."""

from __future__ import annotations

import hmac
import json
import warnings
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from channels.masking import get_logger
from taxbot.observability.logs import bind_conversation
from taxbot.observability.metrics import record_action_call
from taxbot.routes import ExecutorDep, SettingsDep

logger = get_logger(__name__)  # action names and errors may quote what the taxpayer wrote
router = APIRouter(tags=["actions"])
TOKEN_REFUSED = "缺少或错误的 webhook token：只有本系统的 Rasa 可以调用动作。"


def _parse(raw: bytes, encoding: str | None) -> Any:
    if encoding == "deflate":
        raw = zlib.decompress(raw)
    return json.loads(raw) if raw else None


@router.post(
    "/webhook",
    responses={  # rasa-sdk's wire format: {"error": ..., "action_name": ...}
        400: {"description": "Not an action call, or the action rejected it"},
        401: {"description": "The webhook token (TAXBOT_WEBHOOK_TOKEN, a Bearer token) is missing or wrong"},
        404: {"description": "No such action"},
        449: {"description": "The action needs the domain and the call did not include it"},
    },
)
async def webhook(request: Request, executor: ExecutorDep, settings: SettingsDep) -> JSONResponse:
    """Run the action Rasa asks for; the body and answer are rasa-sdk's wire format. With a webhook token
    configured, only a caller sending it may run actions: `Authorization: Bearer <token>` (what
    `taxbot serve` configures Rasa's action endpoint to send) or, for a Rasa configured by hand with its
    action endpoint's `token`, the `?token=` query parameter."""
    expected = settings.webhook_token.encode()
    if expected and not hmac.compare_digest(_presented_token(request).encode(), expected):
        logger.warning("action call refused: missing or wrong webhook token")
        return JSONResponse({"error": TOKEN_REFUSED}, status_code=401)
    try:
        action_call = _parse(await request.body(), request.headers.get("content-encoding"))
    except (ValueError, zlib.error):
        action_call = None
    if not isinstance(action_call, dict):
        return JSONResponse({"error": "Invalid body request"}, status_code=400)
    problem = _malformed(action_call)
    if problem:
        return JSONResponse({"error": f"Invalid body request: {problem}"}, status_code=400)
    tracker = action_call.get("tracker")
    bind_conversation(tracker.get("sender_id") if isinstance(tracker, dict) else None)
    response = await _run(executor, action_call)
    record_action_call(executor.actions, action_call.get("next_action"), response.status_code)
    return response


def _presented_token(request: Request) -> str:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.query_params.get("token", "")


_SHAPES = {"slots": dict, "latest_message": dict, "events": list}
_MESSAGE_SHAPES = {"text": str, "intent": dict, "entities": list}
_NAMES = {dict: "an object", list: "a list", str: "a string"}


def _malformed(action_call: dict[str, Any]) -> str | None:
    """What makes this not an action call in rasa-sdk's wire format (rasa-sdk itself would crash: 500)."""
    name = action_call.get("next_action")
    if name is None:
        return None
    if not isinstance(name, str):
        return "next_action must be a string"
    tracker = action_call.get("tracker")
    if not isinstance(tracker, dict):
        return "tracker must be an object"
    for key, shape in _SHAPES.items():
        if tracker.get(key) is not None and not isinstance(tracker[key], shape):
            return f"tracker.{key} must be {_NAMES[shape]}"
    message = tracker.get("latest_message") or {}
    for key, shape in _MESSAGE_SHAPES.items():
        if message.get(key) is not None and not isinstance(message[key], shape):
            return f"tracker.latest_message.{key} must be {_NAMES[shape]}"
    if action_call.get("domain") is not None and not isinstance(action_call["domain"], dict):
        return "domain must be an object"
    return None


async def _run(executor: ActionExecutor, action_call: dict[str, Any]) -> JSONResponse:
    with warnings.catch_warnings():  # rasa 3.6 calling rasa-sdk 3.21: the wire format is compatible
        warnings.simplefilter("ignore")
        utils.check_version_compatibility(action_call.get("version"))
    try:
        result = await executor.run(action_call)
    except ActionExecutionRejection as exc:
        logger.debug(exc)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
    except ActionNotFoundException as exc:
        logger.error(exc)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
    except ActionMissingDomainException as exc:
        logger.debug(exc)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
    except Exception as exc:  # the webhook edge, as rasa-sdk's own exception handler
        logger.exception("action call failed")
        return JSONResponse({"error": str(exc), "request_body": action_call}, status_code=500)
    return JSONResponse(result.model_dump() if result else None)


@router.get("/actions")
async def actions(executor: ExecutorDep) -> list[dict[str, str]]:
    """The registered custom actions."""
    return [item.model_dump() for item in executor.list_actions()]
