"""What the actions read from the tracker, read defensively.

A tracker can carry a slot or entity value of an unexpected type: a slot from an older domain, a custom
mapping, a hand-written `/inform_region{"region": 123}` message, an entity list with a non-object in it.
Rasa shows the taxpayer nothing when the action server fails, so a value that is not of the slot's type
is read as unset — a text slot as ``None``, a counter as ``0`` — and the taxpayer still gets an answer
(national rules, no hand-off yet), never an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from rasa_sdk import Tracker


def text_slot(tracker: Tracker, name: str) -> str | None:
    """The text slot ``name`` stripped; ``None`` when unset, blank or not a string."""
    value = tracker.get_slot(name)
    return (value.strip() or None) if isinstance(value, str) else None


def count_slot(tracker: Tracker, name: str) -> float:
    """The counter slot ``name`` (a float slot); ``0.0`` when unset, negative, infinite or not a number."""
    value = tracker.get_slot(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    value = float(value)
    return value if math.isfinite(value) and value > 0 else 0.0


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)  # a number from a numeric extractor (amount 5000, rating 5) reads as its digits
    return None


def entity_values(tracker: Tracker, entity: str) -> Iterator[str]:
    """Values of ``entity`` in the latest message, as text, like ``Tracker.get_latest_entity_values``
    but skipping items that are not objects and values that are neither text nor a number."""
    entities = tracker.latest_message.get("entities") or []
    for item in entities if isinstance(entities, list) else ():
        if isinstance(item, dict) and item.get("entity") == entity:
            text = _as_text(item.get("value"))
            if text is not None:
                yield text


def latest_text(tracker: Tracker) -> str:
    """The latest message's text, stripped ("" when there is none)."""
    text = tracker.latest_message.get("text")
    return text.strip() if isinstance(text, str) else ""


def intent_of(tracker: Tracker) -> str:
    """The latest message's intent name ("" when there is none or it is not text)."""
    intent = tracker.latest_message.get("intent")
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else ""
