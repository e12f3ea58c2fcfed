"""`GET /metrics`: Prometheus text exposition of the app's metrics (``taxbot.observability.metrics``).

With ``TAXBOT_METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>`` (Prometheus:
``authorization: {credentials: …}`` in the scrape config); outside development the token is required.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response

from taxbot.observability.metrics import render, update_index_info
from taxbot.routes import SettingsDep

router = APIRouter(tags=["health"])


def _authorized(request: Request, token: str) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, settings: SettingsDep) -> Response:
    """The metrics of this process (of all its workers with ``PROMETHEUS_MULTIPROC_DIR``)."""
    token = settings.metrics_token.get_secret_value()
    if token and not _authorized(request, token):
        return Response(
            "metrics need a bearer token\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    update_index_info(settings.data_dir / "index")
    body, content_type = render()
    return Response(body, media_type=content_type)
