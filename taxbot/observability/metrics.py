"""The app's Prometheus metrics, and the small helpers that record them where the work happens.

Labels are bounded, closed sets only — channel, answer kind, handoff reason, action name, route template,
status — never a conversation id, sender, phone number or raw path: a label value is a time series of
its own (cardinality) and would carry personal data into the monitoring system (privacy).

Several worker processes: set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, the same for all
workers of one replica) before they start, and ``render`` aggregates their files. Several replicas are
scraped one by one.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from taxbot.errors import TaxbotError

CHANNELS = ("web", "wechat", "sms")
NO_ANSWER_KINDS = ("none",)  # the apology; a second one becomes a handoff with reason "no_answer"
RATE_LIMITS = ("ip", "poll", "chat")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

TURNS = Counter(
    "taxbot_turns", "Dialogue turns answered, by channel and answer kind", ["channel", "answer_kind"]
)
TURN_SECONDS = Histogram(
    "taxbot_turn_seconds", "Time to answer one taxpayer message, by channel", ["channel"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip
NO_ANSWERS = Counter("taxbot_no_answer_turns", "Turns the bot could not answer, by channel", ["channel"])
HANDOFFS = Counter("taxbot_handoffs", "Conversations handed to a human agent, by reason", ["reason"])
SEARCH_SECONDS = Histogram(
    "taxbot_search_seconds", "Knowledge-base searches of the bot's actions, by outcome", ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)  # fmt: skip
ACTION_CALLS = Counter(
    "taxbot_action_calls", "Rasa action webhook calls, by action and outcome", ["action", "outcome"]
)
HTTP_REQUESTS = Counter(
    "taxbot_http_requests",
    "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
RATE_LIMITED = Counter(
    "taxbot_rate_limited", "Requests refused with 429, by limit (ip, poll, chat)", ["limit"]
)
INDEX_INFO = Gauge(
    "taxbot_index_info", "The index version served (value 1)", ["version", "content_hash", "index_kind"],
    multiprocess_mode="mostrecent",
)  # fmt: skip

_ACTION_OUTCOMES = {200: "ok", 400: "rejected", 404: "not_found", 449: "missing_domain"}
_served: tuple[str, ...] | None = None


def label(value: object, allowed: Sequence[str] | None = None, default: str = "other") -> str:
    """``value`` as a label: one of ``allowed`` when given, else a short identifier; ``default`` if not."""
    text = str(value or "")
    if allowed is not None:
        return text if text in allowed else default
    return text if _LABEL.match(text) else default


def channel_of(metadata: dict[str, Any] | None) -> str:
    """The channel of a dialogue turn: the channels put theirs in the metadata; the web chat sends none."""
    if not metadata or "channel" not in metadata:
        return "web"
    return label(metadata.get("channel"), CHANNELS)


def record_turn(channel: str, replies: Sequence[dict[str, Any]] | None, seconds: float) -> None:
    """One answered (``replies``) or failed (``None``: the dialogue engine was unavailable) turn."""
    TURN_SECONDS.labels(channel).observe(seconds)
    if replies is None:
        TURNS.labels(channel, "unavailable").inc()
        return
    custom: dict[str, Any] = {}
    for reply in replies:
        if isinstance(reply.get("custom"), dict):
            custom |= reply["custom"]
    kind = label(custom.get("answer_kind"), default="other") if custom.get("answer_kind") else "utterance"
    TURNS.labels(channel, kind).inc()
    reason = label(custom.get("handoff_reason") or "request") if custom.get("handoff_queued") else None
    if kind in NO_ANSWER_KINDS or reason == "no_answer":
        NO_ANSWERS.labels(channel).inc()
    if reason is not None:
        HANDOFFS.labels(reason).inc()


def record_action_call(action_names: Container[str], action: object, status: int) -> None:
    """One webhook call; an action name that is not registered counts as ``unknown``."""
    name = str(action) if str(action) in action_names else "unknown"
    ACTION_CALLS.labels(name, _ACTION_OUTCOMES.get(status, "error")).inc()


def record_http(method: str, route: str, status: int) -> None:
    HTTP_REQUESTS.labels(label(method, HTTP_METHODS), route, str(status)).inc()


def record_rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(label(limit, RATE_LIMITS)).inc()


class TimedRetriever:
    """A Retriever that times each ``search`` (outcome ``hits``, ``empty`` or ``error``); everything else
    is the wrapped retriever's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def search(self, query: str, **options: Any) -> list[Any]:
        started = time.perf_counter()
        outcome = "error"
        try:
            hits = self.inner.search(query, **options)
            outcome = "hits" if hits else "empty"
            return hits
        finally:
            SEARCH_SECONDS.labels(outcome).observe(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def update_index_info(index_root: Path) -> None:
    """Point ``taxbot_index_info`` at the version CURRENT names (read at each scrape; nothing if none)."""
    from index.persistence import current_version, read_manifest  # here: keeps importers light (no faiss)

    global _served
    version = current_version(index_root) if index_root.is_dir() else None
    if _served is not None and _served[0] == version:
        return
    labels: tuple[str, ...] | None = None
    if version:
        try:
            _, manifest = read_manifest(index_root)
        except TaxbotError:
            manifest = {}
        labels = (version, str(manifest.get("content_hash", "")), str(manifest.get("index_kind", "")))
    if _served is not None:
        if multiprocess_dir():
            INDEX_INFO.labels(*_served).set(0)
        else:
            INDEX_INFO.remove(*_served)
    if labels is not None:
        INDEX_INFO.labels(*labels).set(1)
    _served = labels


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def render() -> tuple[bytes, str]:
    """The exposition text of this process (or of all workers, in multiprocess mode) and its type."""
    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
