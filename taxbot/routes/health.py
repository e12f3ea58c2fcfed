"""Liveness (`/healthz`) and readiness (`/readyz`: Rasa has a model loaded, the retriever is loaded)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from taxbot.errors import DialogueUnavailable
from taxbot.routes import RasaDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Some part is not ready; `checks` says which"}})
async def readyz(request: Request, rasa: RasaDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await rasa.status()
        checks["rasa"] = "ok"
    except DialogueUnavailable as exc:
        checks["rasa"] = str(exc)
    services_error = request.app.state.services_error
    checks["retriever"] = "ok" if services_error is None else services_error
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )
