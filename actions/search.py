"""action_search_kb and action_answer_pending: answer a tax question from the knowledge base, citing the
regulation; ask for the region first when the answer differs by region and none is known."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.formatting import NO_ANSWER_TEXT, SEARCH_FAILED_TEXT, format_answer, no_answer_payload, usable_at
from actions.query import as_of_from
from actions.replies import (
    DID_YOU_MEAN,
    HANDOFF_TEXT,
    NO_ANSWER_AGAIN,
    REGION_NOTED,
    ask_region_text,
    clarify_payload,
    handoff_payload,
    question_buttons,
    region_buttons,
)
from actions.slots import count_slot, entity_values, intent_of, latest_text, text_slot
from actions.topics import FaqSuggester, LocalVariants
from index.base import Retriever
from knowledge_base.models import NATIONAL
from knowledge_base.regions import find_region_in, normalize_region

logger = logging.getLogger(__name__)
HANDOFF_AFTER_NO_ANSWERS = 2


def asked_region(message: str, slot_value: str | None) -> str | None:
    """The region a question is about: one named in the message, else the ``region`` slot; canonical
    names only ("京" -> "北京市"); an unknown name is dropped (national rules only) rather than failing."""
    named = find_region_in(message)
    if named:
        return named
    return normalize_region(slot_value) if slot_value else None


class KbAnswerer:
    """Searches, formats and counts no-answers; shared by the actions that answer questions."""

    def __init__(
        self,
        retriever: Retriever,
        suggester: FaqSuggester,
        *,
        k: int = 5,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._retriever = retriever
        self._suggester = suggester
        self._k = k
        self._today = today

    async def answer(
        self,
        dispatcher: CollectingDispatcher,
        question: str,
        region: str | None,
        *,
        intent: str,
        no_answers: float,
        pending: bool = False,
    ) -> list[EventType]:
        """Answer ``question``; events only for the slots that change (no-answer count, pending question)."""
        today = self._today()
        as_of = as_of_from(question, today)
        local = region if region and region != NATIONAL else None
        query = question if local is None or find_region_in(question) else f"{local} {question}"
        try:
            # off the event loop: other conversations' webhook calls go on while this one searches
            hits = await asyncio.to_thread(
                self._retriever.search, query, region=local, as_of=as_of, k=self._k
            )
        except Exception:  # the action is a webhook edge: the taxpayer gets an apology, the log the cause
            logger.exception("knowledge base search failed for %r (region %s)", question, local)
            dispatcher.utter_message(
                text=SEARCH_FAILED_TEXT, json_message=no_answer_payload() | {"intent": intent}
            )
            return []
        usable = [h for h in hits if usable_at(h, as_of)]
        if not usable:
            return self._no_answer(
                dispatcher, question, local, intent=intent, no_answers=no_answers + 1, pending=pending
            )
        text, payload = format_answer(usable, as_of=as_of, today=today)
        payload |= {"intent": intent, "region": local or NATIONAL}
        buttons: list[dict[str, str]] = []
        if payload["answer_kind"] == "article":  # no FAQ answer: middling confidence, offer near questions
            suggestions = self._suggester.suggest(question, region=local)
            if suggestions:
                text = f"{text}\n{DID_YOU_MEAN}"
                buttons = question_buttons(suggestions)
        dispatcher.utter_message(text=text, buttons=buttons, json_message=payload)
        return _cleared(pending) + ([SlotSet("no_answer_count", 0.0)] if no_answers else [])

    def _no_answer(
        self,
        dispatcher: CollectingDispatcher,
        question: str,
        region: str | None,
        *,
        intent: str,
        no_answers: float,
        pending: bool,
    ) -> list[EventType]:
        events = _cleared(pending)
        if no_answers >= HANDOFF_AFTER_NO_ANSWERS:
            dispatcher.utter_message(
                text=NO_ANSWER_AGAIN + HANDOFF_TEXT, json_message=handoff_payload("no_answer", intent)
            )
            return [*events, SlotSet("no_answer_count", 0.0), SlotSet("negative_feedback_count", 0.0)]
        suggestions = self._suggester.suggest(question, region=region)
        text = NO_ANSWER_TEXT + (f"\n{DID_YOU_MEAN}" if suggestions else "")
        dispatcher.utter_message(
            text=text,
            buttons=question_buttons(suggestions),
            json_message=no_answer_payload() | {"intent": intent},
        )
        return [*events, SlotSet("no_answer_count", float(no_answers))]


def _cleared(pending: bool) -> list[EventType]:
    return [SlotSet("pending_question", None)] if pending else []


class ActionSearchKb(Action):
    """Searches the latest user message in the asked region (see ``asked_region``) and utters the answer
    with its citation; the region is remembered in the ``region`` slot for follow-up questions. Without a
    region, a question that has local answers gets "您在哪个省市办税？" first and waits in
    ``pending_question``."""

    def __init__(self, answerer: KbAnswerer, variants: LocalVariants) -> None:
        self._answerer = answerer
        self._variants = variants

    def name(self) -> str:
        return "action_search_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        query = latest_text(tracker)
        intent = intent_of(tracker)
        if not query:
            dispatcher.utter_message(
                text=NO_ANSWER_TEXT, json_message=no_answer_payload() | {"intent": intent}
            )
            return []
        slot = text_slot(tracker, "region")
        region = asked_region(query, slot)
        events: list[EventType] = [] if region is None or region == slot else [SlotSet("region", region)]
        if region is None:
            local = self._variants.regions_for(query)
            if local:
                dispatcher.utter_message(
                    text=ask_region_text(local),
                    buttons=region_buttons(local),
                    json_message=clarify_payload(intent),
                )
                return [*events, SlotSet("pending_question", query)]
        no_answers = count_slot(tracker, "no_answer_count")
        return events + await self._answerer.answer(
            dispatcher, query, region, intent=intent, no_answers=no_answers
        )


class ActionAnswerPending(Action):
    """After inform_region: answer the question that waited for the region, or confirm the region."""

    def __init__(self, answerer: KbAnswerer) -> None:
        self._answerer = answerer

    def name(self) -> str:
        return "action_answer_pending"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        given = next(entity_values(tracker, "region"), None) or text_slot(tracker, "region")
        region = normalize_region(given or "") or asked_region(latest_text(tracker), None)
        events: list[EventType] = [SlotSet("region", region)] if region and region != given else []
        pending = text_slot(tracker, "pending_question")
        if not region:
            dispatcher.utter_message(
                text="抱歉，没有识别出地区名称，请回复省市名称，例如“北京”或“广东省”。",
                json_message=clarify_payload(intent_of(tracker)),
            )
            return events
        if not pending:
            dispatcher.utter_message(
                text=REGION_NOTED.format(region=region), json_message=clarify_payload(intent_of(tracker))
            )
            return events
        no_answers = count_slot(tracker, "no_answer_count")
        return events + await self._answerer.answer(
            dispatcher, pending, region, intent="ask_policy", no_answers=no_answers, pending=True
        )
