"""Operating the app: Prometheus metrics, masked text or JSON logs with request ids, security headers,
and the check that refuses default secrets outside development.

``install(app, settings)`` (called by ``create_app``) adds the middleware; the metrics are recorded where
the work happens (``GatedDialogue``, the action webhook, the retriever wrapper) and served by
``taxbot.routes.metrics``.
"""

from __future__ import annotations

from taxbot.observability.logs import bind_conversation, configure_logging
from taxbot.observability.middleware import install

__all__ = ["bind_conversation", "configure_logging", "install"]
