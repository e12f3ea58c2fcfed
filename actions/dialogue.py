"""The conversation around the answers: greeting with hot questions, 转人工, 有用/没用, the 1–5 rating.

The actions only decide and say; the chat route (taxbot/routes/chat.py) stores what their
``json_message`` carries (handoff queue, feedback, rating) with the masked conversation log.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import (
    FEEDBACK_SORRY,
    FEEDBACK_THANKS,
    GREETING,
    HANDOFF_TEXT,
    HOT_QUESTIONS,
    RATING_THANKS,
    handoff_payload,
    question_buttons,
)
from actions.slots import count_slot, entity_values, intent_of, latest_text, text_slot
from knowledge_base.models import NATIONAL

HANDOFF_AFTER_NEGATIVE = 2


class ActionGreet(Action):
    def __init__(self, hot_questions: tuple[str, ...] = HOT_QUESTIONS) -> None:
        self._buttons = question_buttons(hot_questions)

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=GREETING, buttons=self._buttons)
        return []


def handoff(dispatcher: CollectingDispatcher, reason: str, intent: str) -> list[EventType]:
    dispatcher.utter_message(text=HANDOFF_TEXT, json_message=handoff_payload(reason, intent))
    return [SlotSet("no_answer_count", 0.0), SlotSet("negative_feedback_count", 0.0)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return handoff(dispatcher, "request", intent_of(tracker))


class ActionFeedback(Action):
    """有用 / 没用 about the last answer; the second 没用 in a conversation hands it over to a human."""

    def name(self) -> str:
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = intent_of(tracker)
        positive = intent == "feedback_positive"
        # the chat route adds the question and sources of the answer it is about, from the conversation log
        feedback = {
            "kind": "positive" if positive else "negative",
            "region": text_slot(tracker, "region") or NATIONAL,
        }
        if positive:
            dispatcher.utter_message(
                text=FEEDBACK_THANKS,
                json_message={"answer_kind": "feedback", "intent": intent, "feedback": feedback},
            )
            return []
        negatives = count_slot(tracker, "negative_feedback_count") + 1
        if negatives >= HANDOFF_AFTER_NEGATIVE:
            dispatcher.utter_message(
                json_message={"answer_kind": "feedback", "intent": intent, "feedback": feedback}
            )
            return handoff(dispatcher, "negative_feedback", intent)
        dispatcher.utter_message(
            text=FEEDBACK_SORRY,
            json_message={
                "answer_kind": "feedback",
                "intent": intent,
                "feedback": feedback,
                "handoff": "12366",
            },
        )
        return [SlotSet("negative_feedback_count", negatives)]


class ActionRate(Action):
    """The 1–5 satisfaction rating asked for on goodbye."""

    def name(self) -> str:
        return "action_rate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        given = next(entity_values(tracker, "rating"), None)
        digits = [c for c in (given or latest_text(tracker)) if c in "12345"]
        if not digits:
            return []
        rating = int(digits[0])
        dispatcher.utter_message(
            text=RATING_THANKS.format(rating=rating),
            json_message={"answer_kind": "rating", "intent": intent_of(tracker), "rating": rating},
        )
        return []
