"""Rasa's action server, in-process: `POST /webhook` and `GET /actions`, mirroring rasa_sdk.endpoint."""

from __future__ import annotations

import json
import logging
import warnings
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from rasa_sdk import utils
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from taxbot.routes import ExecutorDep

logger = logging.getLogger(__name__)
router = APIRouter(tags=["actions"])


def _parse(raw: bytes, encoding: str | None) -> Any:
    if encoding == "deflate":
        raw = zlib.decompress(raw)
    return json.loads(raw) if raw else None


@router.post("/webhook")
async def webhook(request: Request, executor: ExecutorDep) -> JSONResponse:
    """Run the action Rasa asks for; the body and answer are rasa-sdk's wire format."""
    try:
        action_call = _parse(await request.body(), request.headers.get("content-encoding"))
    except (ValueError, zlib.error):
        action_call = None
    if not isinstance(action_call, dict):
        return JSONResponse({"error": "Invalid body request"}, status_code=400)

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
