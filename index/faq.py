"""FAQ matching: is the question one of the curated FAQ questions (or a paraphrase of one)?

Score = the encoder's cosine (optionally mixed with character-bigram Dice overlap) against the entry's
question and similar questions; an entry wins when its score clears a threshold *and* beats the runner-up
entry by a margin (two near-equal FAQs mean the question is ambiguous: search results are safer).
Calibrated on held-out paraphrases of the shipped FAQ (see RankingWeights).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge_base.models import FaqEntry

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _bigrams(text: str) -> set[str]:
    s = _NOISE.sub("", text.lower())
    return {s[i : i + 2] for i in range(len(s) - 1)} or ({s} if s else set())


def dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float
    margin: float


class FaqMatcher:
    def __init__(self, *, threshold: float = 0.82, margin: float = 0.04, lexical: float = 0.0) -> None:
        self.threshold = threshold
        self.margin = margin
        self.lexical = lexical  # weight of the bigram overlap against the encoder's cosine
        self.entries: dict[str, FaqEntry] = {}
        self._owner: list[str] = []  # variant row -> faq id
        self._grams: list[set[str]] = []
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    @staticmethod
    def variants(entry: FaqEntry) -> list[str]:
        return [entry.question, *entry.similar_questions]

    def set_entries(self, entries: Sequence[FaqEntry], vectors: np.ndarray) -> None:
        """``vectors``: one encoded row per variant, in ``variants()`` order, entry after entry."""
        self.entries = {e.id: e for e in entries}
        self._owner = [e.id for e in entries for _ in self.variants(e)]
        self._grams = [_bigrams(v) for e in entries for v in self.variants(e)]
        if len(self._owner) != len(vectors):
            raise ValueError(f"{len(vectors)} FAQ vectors for {len(self._owner)} FAQ questions")
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def best(self, query: str, qvec: np.ndarray, allowed: Callable[[FaqEntry], bool]) -> FaqMatch | None:
        if not self._owner:
            return None
        cos = self.vectors @ qvec if self.vectors.size else np.zeros(len(self._owner))
        grams = _bigrams(query)
        per_entry: dict[str, float] = {}
        for row, faq_id in enumerate(self._owner):
            score = (1 - self.lexical) * float(cos[row]) + self.lexical * dice(grams, self._grams[row])
            if score > per_entry.get(faq_id, -1.0):
                per_entry[faq_id] = score
        ranked = sorted(
            ((s, fid) for fid, s in per_entry.items() if allowed(self.entries[fid])), reverse=True
        )
        if not ranked:
            return None
        score, faq_id = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        return FaqMatch(self.entries[faq_id], score, score - runner_up)

    def match(self, query: str, qvec: np.ndarray, allowed: Callable[[FaqEntry], bool]) -> FaqMatch | None:
        found = self.best(query, qvec, allowed)
        if found and found.score >= self.threshold and found.margin >= self.margin:
            return found
        return None
