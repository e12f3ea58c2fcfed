"""The bot's custom actions, built once with their dependencies (registered into rasa-sdk's executor)."""

from __future__ import annotations

from collections.abc import Sequence

from rasa_sdk import Action

from actions.calculate import ActionCalculate
from actions.dialogue import ActionFeedback, ActionGreet, ActionHandoff, ActionRate
from actions.search import ActionAnswerPending, ActionSearchKb, KbAnswerer
from actions.topics import FaqSuggester, LocalVariants
from index.base import Retriever
from knowledge_base.models import FaqEntry, FaqStatus


def published_faqs(retriever: Retriever) -> list[FaqEntry]:
    """The FAQ entries behind ``retriever`` (its knowledge store's, when it has one; else none)."""
    store = getattr(retriever, "store", None)
    list_faqs = getattr(store, "list_faqs", None)
    return list(list_faqs(status=FaqStatus.PUBLISHED)) if list_faqs else []


def build_actions(retriever: Retriever, faqs: Sequence[FaqEntry] | None = None) -> list[Action]:
    """Every custom action; ``faqs`` (default: the retriever's store's) feed the region follow-up and
    the did-you-mean suggestions."""
    entries = list(faqs) if faqs is not None else published_faqs(retriever)
    answerer = KbAnswerer(retriever, FaqSuggester(entries))
    return [
        ActionSearchKb(answerer, LocalVariants(entries)), ActionAnswerPending(answerer),
        ActionCalculate(retriever, answerer), ActionGreet(), ActionHandoff(), ActionFeedback(), ActionRate(),
    ]  # fmt: skip
