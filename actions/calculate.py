"""action_calculate: the formula, the rule (cited from the knowledge base) and a worked estimate."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.calculation import NOT_A_FILING, RULE_DOCS, RULE_QUERIES, estimate
from actions.formatting import basis_line, citations, is_usable, source_ids
from actions.query import amount_from
from actions.search import KbAnswerer, asked_region
from actions.slots import count_slot, entity_values, intent_of, latest_text, text_slot
from index.base import Retriever
from knowledge_base.models import NATIONAL

logger = logging.getLogger(__name__)


def _plain(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


def rank(doc_id: str, preferred: tuple[str, ...]) -> int:
    return preferred.index(doc_id) if doc_id in preferred else len(preferred)


class ActionCalculate(Action):
    """With an amount: the estimate; without one, the question is answered from the knowledge base."""

    def __init__(self, retriever: Retriever, answerer: KbAnswerer | None = None) -> None:
        self._retriever = retriever
        self._answerer = answerer

    def name(self) -> str:
        return "action_calculate"

    async def _curated(self, question: str, tracker: Tracker) -> bool:
        region = asked_region(question, text_slot(tracker, "region"))
        try:
            hits = await asyncio.to_thread(self._retriever.search, question, region=region, k=1)
        except Exception:  # the webhook edge: fall back to the estimate
            logger.exception("FAQ check failed before a calculation")
            return False
        faq = hits[0].faq if hits and hits[0].kind == "faq" else None
        if faq is None:
            return False
        asked = _plain(question)
        return any(_plain(q) == asked for q in (faq.question, *faq.similar_questions))

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = latest_text(tracker)
        amount = next((amount_from(v) for v in entity_values(tracker, "amount")), None)
        amount = amount_from(question) or amount
        if self._answerer is not None and (amount is None or await self._curated(question, tracker)):
            # no amount to compute with, or the question is word for word one of the FAQ bank's (e.g. a
            # hot question that quotes 5000元 and 6万元): the knowledge base answers it
            region = asked_region(question, text_slot(tracker, "region"))
            no_answers = count_slot(tracker, "no_answer_count")
            return await self._answerer.answer(
                dispatcher, question, region, intent=intent_of(tracker), no_answers=no_answers
            )
        result = estimate(question, amount)
        try:
            hits = await asyncio.to_thread(self._retriever.search, RULE_QUERIES[result.kind], k=10)
            preferred = RULE_DOCS[result.kind]
            hits = sorted((h for h in hits if is_usable(h)), key=lambda h: rank(h.doc_id, preferred))
        except Exception:  # the webhook edge: the estimate still stands, only the citation is missing
            logger.exception("rule search failed for the %s estimate", result.kind)
            hits = []
        lines = [result.text]
        if hits and basis_line(hits[0]):
            lines.append(basis_line(hits[0]))
        lines.append(NOT_A_FILING)
        payload = {
            "citations": citations(hits),
            "answer_kind": "calculation",
            "intent": intent_of(tracker),
            "calculation": {
                "kind": result.kind,
                "amount": amount,
                "tax": result.tax,
            },
            "sources": source_ids(hits),
            "region": NATIONAL,
        }
        dispatcher.utter_message(text="\n".join(lines), json_message=payload)
        return []
