"""The bot's custom actions, built once with their dependencies (registered into rasa-sdk's executor)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from rasa_sdk import Action

from actions.calculate import ActionCalculate
from actions.dialogue import ActionFeedback, ActionGreet, ActionHandoff, ActionRate
from actions.search import ActionAnswerPending, ActionSearchKb, KbAnswerer
from actions.topics import FaqSource, FaqSuggester, LocalVariants
from index.base import Retriever
from knowledge_base.models import FaqEntry, FaqStatus

log = logging.getLogger(__name__)


def published_faqs(retriever: Retriever) -> list[FaqEntry]:
    """The FAQ entries behind ``retriever`` (its knowledge store's, when it has one; else none)."""
    store = getattr(retriever, "store", None)
    list_faqs = getattr(store, "list_faqs", None)
    return list(list_faqs(status=FaqStatus.PUBLISHED)) if list_faqs else []


def live_faqs(retriever: Retriever) -> FaqSource | None:
    """The FAQ mapping of the index behind ``retriever`` as it is now (after applying the store's pending
    changes), or None when the retriever has no index table (then the store's list is read once)."""
    if getattr(retriever, "table", None) is None:
        return None

    def current() -> Mapping[str, FaqEntry]:
        sync = getattr(retriever, "sync", None)
        if sync is not None:
            try:
                sync()  # throttled by the retriever; a search right after would do the same
            except Exception:  # as in FollowingRetriever.search: keep the entries we have
                log.exception("could not apply knowledge-store changes; using the current FAQ entries")
        return retriever.table.faq.entries

    return current


def build_actions(retriever: Retriever, faqs: Sequence[FaqEntry] | None = None) -> list[Action]:
    """Every custom action; ``faqs`` (default: the live index's, else the retriever's store's) feed the
    region follow-up and the did-you-mean suggestions."""
    source = live_faqs(retriever) if faqs is None else None
    entries = source or (list(faqs) if faqs is not None else published_faqs(retriever))
    answerer = KbAnswerer(retriever, FaqSuggester(entries))
    return [
        ActionSearchKb(answerer, LocalVariants(entries)), ActionAnswerPending(answerer),
        ActionCalculate(retriever, answerer), ActionGreet(), ActionHandoff(), ActionFeedback(), ActionRate(),
    ]  # fmt: skip
