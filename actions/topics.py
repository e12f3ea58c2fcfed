"""What the FAQ collection tells the dialogue, from the published entries (word overlap only):

* ``LocalVariants``: which regions have their own rules for a question (→ ask "您在哪个省市办税？");
* ``FaqSuggester``: the FAQ questions nearest a question ("您是不是想问" buttons).

Both take the entries as a fixed collection or as a ``FaqSource`` (a callable giving the current ones, e.g.
the live index's FAQ table): a FAQ published, edited or withdrawn by staff then changes the follow-up
and the suggestions as soon as it changes the answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from index.tokenize import search_tokens
from knowledge_base.models import NATIONAL, FaqEntry, FaqStatus
from knowledge_base.regions import normalize_region

Tokenizer = Callable[[str], list[str]]
# words that say nothing about the topic of a tax question
_VAGUE = frozenset(
    {"规定", "政策", "标准", "问题", "情况", "需要", "要求", "办理", "是不是", "交", "缴纳", "税"}
)


def topic_words(text: str, tokenize: Tokenizer = search_tokens) -> frozenset[str]:
    """Content words of ``text``: tokens without region names, vague words or single characters."""
    return frozenset(
        t for t in tokenize(text) if len(t) > 1 and t not in _VAGUE and normalize_region(t) is None
    )


@dataclass(frozen=True)
class _Entry:
    faq_id: str
    question: str
    region: str
    words: frozenset[str]


def _entries(faqs: Iterable[FaqEntry], tokenize: Tokenizer) -> list[_Entry]:
    out = []
    for faq in faqs:
        if faq.status != FaqStatus.PUBLISHED:
            continue
        words = topic_words(" ".join((faq.question, *faq.similar_questions)), tokenize)
        out.append(_Entry(faq.id, faq.question, faq.region or NATIONAL, words))
    return out


# the current entries, or the index's mapping id → entry (compared by identity to see a change)
FaqSource = Callable[[], Collection[FaqEntry] | Mapping[str, FaqEntry]]


class _TopicTable:
    """The topic words of the current entries, recomputed only when the source hands out another
    collection (the index replaces its FAQ mapping on every change, never mutates it in place)."""

    def __init__(self, faqs: Iterable[FaqEntry] | FaqSource, tokenize: Tokenizer) -> None:
        self._tokenize = tokenize
        self._lock = threading.Lock()
        if callable(faqs):
            self._source: FaqSource | None = faqs
            self._seen: object = None
            self._entries: list[_Entry] = []
        else:
            self._source = None
            self._entries = _entries(faqs, tokenize)

    def entries(self) -> list[_Entry]:
        if self._source is None:
            return self._entries
        current = self._source()
        if current is not self._seen:
            with self._lock:
                if current is not self._seen:
                    faqs = current.values() if isinstance(current, Mapping) else current
                    self._entries = _entries(faqs, self._tokenize)
                    self._seen = current
        return self._entries


def _overlap(query: frozenset[str], entry: _Entry) -> tuple[int, float]:
    shared = len(query & entry.words)
    return shared, (shared / len(query) if query else 0.0)


class LocalVariants:
    """Regions whose local FAQ entries answer (nearly) the same question."""

    def __init__(
        self,
        faqs: Iterable[FaqEntry] | FaqSource,
        *,
        tokenize: Tokenizer = search_tokens,
        min_shared: int = 2,
        min_ratio: float = 0.5,
    ) -> None:
        self._tokenize = tokenize
        self._table = _TopicTable(faqs, tokenize)
        self._min_shared = min_shared
        self._min_ratio = min_ratio

    def regions_for(self, question: str) -> list[str]:
        """Regions with a local answer to ``question``, best match first (empty: one national answer)."""
        query = topic_words(question, self._tokenize)
        scored: dict[str, tuple[int, float]] = {}
        for entry in self._table.entries():
            if entry.region == NATIONAL:
                continue
            shared, ratio = _overlap(query, entry)
            if shared >= self._min_shared and ratio >= self._min_ratio:
                scored[entry.region] = max(scored.get(entry.region, (0, 0.0)), (shared, ratio))
        return sorted(scored, key=lambda region: scored[region], reverse=True)


class FaqSuggester:
    """The FAQ questions sharing most topic words with a question (national ones and the asker's region)."""

    def __init__(
        self,
        faqs: Iterable[FaqEntry] | FaqSource,
        *,
        tokenize: Tokenizer = search_tokens,
        min_shared: int = 2,
    ) -> None:
        self._tokenize = tokenize
        self._table = _TopicTable(faqs, tokenize)
        self._min_shared = min_shared

    def suggest(
        self, question: str, *, region: str | None = None, k: int = 3, exclude: Iterable[str] = ()
    ) -> list[str]:
        query = topic_words(question, self._tokenize)
        skip = set(exclude)
        allowed = {NATIONAL, region} if region else {NATIONAL}
        scored = [
            (_overlap(query, e), e.question)
            for e in self._table.entries()
            if e.region in allowed and e.faq_id not in skip and e.question not in skip
        ]
        good = [(score, q) for score, q in scored if score[0] >= self._min_shared]
        good.sort(key=lambda item: item[0], reverse=True)
        return [q for _, q in good[:k]]
