"""What a dialogue turn means for the records: read from Rasa's REST replies (pure).

The custom actions put what they decided into their ``custom`` payload (answer kind, sources, intent,
region, ``handoff_queued``, ``feedback``, ``rating``); utterances without a payload (e.g. utter_thanks)
are logged with an empty answer kind. A ``/intent{...}`` message names its own intent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge_base.models import NATIONAL

_PAYLOAD = re.compile(r"^/([A-Za-z_][\w]*)")


@dataclass(frozen=True)
class TurnSummary:
    bot_text: str
    intent: str = ""
    answer_kind: str = ""
    sources: tuple[str, ...] = ()
    region: str = NATIONAL
    handoff_reason: str | None = None  # the actions asked for a human
    feedback: dict[str, Any] | None = None
    rating: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def payload_intent(message: str) -> str:
    """``/feedback_negative`` → ``feedback_negative``; "" for typed text."""
    match = _PAYLOAD.match(message.strip())
    return match.group(1) if match else ""


def summarise(message: str, replies: Sequence[dict[str, Any]]) -> TurnSummary:
    texts = [str(r["text"]) for r in replies if r.get("text")]
    custom: dict[str, Any] = {}
    for reply in replies:
        if isinstance(reply.get("custom"), dict):
            custom |= reply["custom"]
    rating = custom.get("rating")
    return TurnSummary(
        bot_text="\n".join(texts),
        intent=str(custom.get("intent") or payload_intent(message)),
        answer_kind=str(custom.get("answer_kind") or ""),
        sources=tuple(str(s) for s in custom.get("sources") or ()),
        region=str(custom.get("region") or NATIONAL),
        handoff_reason=str(custom.get("handoff_reason") or "request")
        if custom.get("handoff_queued")
        else None,
        feedback=custom.get("feedback") if isinstance(custom.get("feedback"), dict) else None,
        rating=int(rating) if isinstance(rating, int | str) and str(rating).isdigit() else None,
    )
