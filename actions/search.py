"""action_search_kb: answer a tax question from the knowledge base, citing the regulation."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.formatting import (
    NO_ANSWER_TEXT,
    SEARCH_FAILED_TEXT,
    format_answer,
    is_usable,
    no_answer_payload,
)
from index.base import Retriever
from knowledge_base.regions import find_region_in, normalize_region

logger = logging.getLogger(__name__)


class ActionSearchKb(Action):
    """Searches the latest user message in the asked region (see ``asked_region``) and utters the answer
    with its citation; the region is remembered in the ``region`` slot for follow-up questions."""

    def __init__(self, retriever: Retriever, *, k: int = 5) -> None:
        self._retriever = retriever
        self._k = k

    def name(self) -> str:
        return "action_search_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        query = (tracker.latest_message.get("text") or "").strip()
        if not query:
            dispatcher.utter_message(text=NO_ANSWER_TEXT, json_message=no_answer_payload())
            return []
        region = asked_region(query, tracker.get_slot("region"))
        events = [] if region == tracker.get_slot("region") else [SlotSet("region", region)]
        try:
            hits = self._retriever.search(query, region=region, k=self._k)
        except Exception:  # the action is a webhook edge: the taxpayer gets an apology, the log the cause
            logger.exception("knowledge base search failed for %r (region %s)", query, region)
            dispatcher.utter_message(text=SEARCH_FAILED_TEXT, json_message=no_answer_payload())
            return []
        usable = [h for h in hits if is_usable(h)]
        if not usable:
            dispatcher.utter_message(text=NO_ANSWER_TEXT, json_message=no_answer_payload())
            return events
        text, payload = format_answer(usable)
        dispatcher.utter_message(text=text, json_message=payload)
        return events


def asked_region(message: str, slot_value: str | None) -> str | None:
    """The region a question is about: one named in the message, else the ``region`` slot; canonical
    names only ("京" -> "北京市"); an unknown name is dropped (national rules only) rather than failing."""
    named = find_region_in(message)
    if named:
        return named
    return normalize_region(slot_value) if slot_value else None
