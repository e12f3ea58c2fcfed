"""Action fixtures: a real Tracker per message, a real CollectingDispatcher, the tiny real retriever."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from knowledge_base.models import Citation, FaqEntry
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, TinyRetriever

# a local FAQ written for these tests: Beijing has its own answer about renting out a home
BJ_RENT_FAQ = FaqEntry(
    id="faq-test-bj-rent",
    question="北京个人出租住房房产税怎么交？",
    similar_questions=("北京出租住房房产税税率", "北京个人出租房子交房产税吗"),
    answer="北京市个人出租住房的房产税按租金收入的4%计征。",
    citations=(Citation(doc_id="test-bj-property", article="第三条"),),
    region="北京市",
)
FAQS = (*TEST_FAQS, BJ_RENT_FAQ)


def tracker(
    text: str, intent: str = "ask_policy", entities: list[dict] | None = None, **slots: Any
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    return Tracker(
        sender_id="taxpayer-1", slots=slots, latest_message=message,
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )  # fmt: skip


def run(action: Action, tr: Tracker) -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, {}))
    return events, dispatcher.messages


@pytest.fixture
def retriever() -> TinyRetriever:
    return TinyRetriever(TEST_DOCUMENTS, FAQS)
