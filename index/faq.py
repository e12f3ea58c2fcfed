"""FAQ matching: is the question one of the curated FAQ questions (or a paraphrase of one)?

Score per entry = the best over its question and similar questions of the encoder's cosine mixed with
character-bigram Dice overlap. An entry wins when its score clears a threshold *and* beats the best entry
on a *different rule* by a margin: two near-equal FAQs answering from the same rule (``same_rule``) are
no ambiguity; two near-equal FAQs on different rules are, and search results are safer. An entry about
other taxes than the question names (a VAT FAQ for a 个税 question) never wins, and a local entry of the
asker's region close behind a national one on the same tax is preferred to it. Calibrated on held-out
paraphrases of the shipped FAQ (benchmarks/bench_faq.py, see RankingWeights).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge_base.models import NATIONAL, FaqEntry

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)

# taxes that cut across the others: a question about 发票 may be answered by a VAT FAQ and vice versa
CROSS_CUTTING_TAXES = frozenset({"征收管理", "发票"})
# every tax (and the fees 12366 answers for): a question naming one the FAQ does not cover, e.g. 烟叶税 or
# 车辆购置税, must not get an FAQ about a neighbouring tax (车船税)
TAX_NAMES = frozenset(
    (
        "增值税",
        "消费税",
        "企业所得税",
        "个人所得税",
        "资源税",
        "城市维护建设税",
        "房产税",
        "城镇土地使用税",
        "土地增值税",
        "车船税",
        "车辆购置税",
        "印花税",
        "契税",
        "耕地占用税",
        "烟叶税",
        "船舶吨税",
        "环境保护税",
        "教育费附加",
        "社会保险费",
        "文化事业建设费",
        "残疾人就业保障金",
        "水利建设基金",
    )
)  # fmt: skip  (no 关税: "相关税费" contains it)


def _bigrams(text: str) -> set[str]:
    s = _NOISE.sub("", text.lower())
    return {s[i : i + 2] for i in range(len(s) - 1)} or ({s} if s else set())


def dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def topic_keys(entry: FaqEntry) -> frozenset[tuple[str, str]]:
    """The rules an entry answers from: its cited (document, article) pairs."""
    return frozenset((c.doc_id, c.article) for c in entry.citations)


def same_rule(a: FaqEntry, b: FaqEntry) -> bool:
    """Two entries answer from the same rule: same first (main) citation, or mostly the same citations.

    Sharing one article is not enough: many entries also cite a basic article (个人所得税法第六条).
    """
    if a.citations and b.citations and a.citations[0] == b.citations[0]:
        return True
    ka, kb = topic_keys(a), topic_keys(b)
    return bool(ka and kb) and len(ka & kb) > 0.5 * len(ka | kb)


def named_taxes(query: str, tokens: Sequence[str], vocabulary: Collection[str]) -> set[str]:
    """Taxes the question names outright (个税 is 个人所得税 after synonym mapping of ``tokens``).

    Hint words (出口, 合同, 个人 ...) do not count: they point at a tax too loosely to refuse an FAQ.
    """
    text = "".join(tokens) + " " + query
    named = {t for t in vocabulary if t and t in text}
    # "土地增值税" contains "增值税": drop a name contained in a longer one
    return {t for t in named if not any(t != o and t in o for o in named)}


def tax_consistent(entry: FaqEntry, taxes: Collection[str]) -> bool:
    """False when the question names taxes and the entry is about other taxes only."""
    asked = set(taxes) - CROSS_CUTTING_TAXES
    about = set(entry.tax_types) - CROSS_CUTTING_TAXES
    return not asked or not about or bool(asked & about)


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float
    margin: float  # over the best entry on a different topic (score itself when there is none)


class FaqMatcher:
    def __init__(
        self,
        *,
        threshold: float = 0.82,
        margin: float = 0.04,
        lexical: float = 0.0,
        tax_check: bool = True,
        topic_margin: bool = True,
        local_delta: float = 0.0,
    ) -> None:
        self.threshold = threshold
        self.margin = margin
        self.lexical = lexical  # weight of the bigram overlap against the encoder's cosine
        self.tax_check = tax_check
        self.topic_margin = topic_margin  # margin over a different topic only (else over any runner-up)
        self.local_delta = local_delta  # prefer a local entry scoring this close to a national one
        self.entries: dict[str, FaqEntry] = {}
        self._owner: list[str] = []  # variant row -> faq id
        self._grams: list[set[str]] = []
        self._starts = np.zeros(0, dtype=np.int64)  # first variant row of each entry
        self.vocabulary: frozenset[str] = TAX_NAMES
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    @staticmethod
    def variants(entry: FaqEntry) -> list[str]:
        return [entry.question, *entry.similar_questions]

    def set_entries(self, entries: Sequence[FaqEntry], vectors: np.ndarray) -> None:
        """``vectors``: one encoded row per variant, in ``variants()`` order, entry after entry."""
        self.entries = {e.id: e for e in entries}
        if len(self.entries) != len(entries):
            raise ValueError(f"duplicate FAQ ids among {len(entries)} entries")
        self._owner = [e.id for e in entries for _ in self.variants(e)]
        self._grams = [_bigrams(v) for e in entries for v in self.variants(e)]
        # tax names a question is checked for: all taxes and every entry's tax types
        self.vocabulary = TAX_NAMES | {t for e in entries for t in e.tax_types}
        counts = [len(self.variants(e)) for e in entries]
        self._starts = np.cumsum([0, *counts[:-1]]).astype(np.int64) if counts else np.zeros(0, np.int64)
        if len(self._owner) != len(vectors):
            raise ValueError(f"{len(vectors)} FAQ vectors for {len(self._owner)} FAQ questions")
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def shares_citation(self, a: str, b: str) -> bool:
        return same_rule(self.entries[a], self.entries[b])

    def same_topic(self, a: str, b: str) -> bool:
        return self.topic_margin and self.shares_citation(a, b)

    def row_features(self, query: str, qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per question variant: the encoder's cosine and the bigram Dice overlap with ``query``."""
        cos = self.vectors @ qvec if self.vectors.size else np.zeros(len(self._owner))
        grams = _bigrams(query)
        lex = np.array([dice(grams, g) for g in self._grams]) if self.lexical else np.zeros(len(cos))
        return np.asarray(cos, dtype=np.float64), lex

    def eligible(self, allowed: Callable[[FaqEntry], bool], taxes: Collection[str] = ()) -> np.ndarray:
        """Per entry (in ``entries`` order): allowed for this asker and about the question's taxes."""
        return np.array(
            [allowed(e) and (not self.tax_check or tax_consistent(e, taxes)) for e in self.entries.values()],
            dtype=bool,
        )

    def rank_features(
        self, cos: np.ndarray, lex: np.ndarray, eligible: np.ndarray
    ) -> list[tuple[float, str]]:
        """(score, faq id) of the eligible entries, best first (an entry scores its best variant)."""
        if not self._owner:
            return []
        mixed = (1 - self.lexical) * cos + self.lexical * lex if self.lexical else cos
        per_entry = np.maximum.reduceat(mixed, self._starts)
        ids = list(self.entries)
        order = np.argsort(-per_entry, kind="stable")
        return [(float(per_entry[i]), ids[i]) for i in order if eligible[i]]

    def ranked(
        self,
        query: str,
        qvec: np.ndarray,
        allowed: Callable[[FaqEntry], bool],
        taxes: Collection[str] = (),
    ) -> list[tuple[float, str]]:
        """(score, faq id) of every allowed entry about the question's taxes, best first."""
        if not self._owner:
            return []
        cos, lex = self.row_features(query, qvec)
        return self.rank_features(cos, lex, self.eligible(allowed, taxes))

    def pick(self, ranked: Sequence[tuple[float, str]]) -> FaqMatch | None:
        """The top entry (or a local one of the asker's close behind it) with its margin over the best
        entry on a different rule."""
        if not ranked:
            return None
        score, faq_id = ranked[0]
        if self.local_delta and self.entries[faq_id].region == NATIONAL:
            # the asker's own local answer (北京市's 12元) beats the national one (1.2-12元) on that tax
            top_id = faq_id
            for s, other in ranked[1:]:
                if s < ranked[0][0] - self.local_delta:
                    break
                if self.entries[other].region != NATIONAL and self._neighbours(top_id, other):
                    score, faq_id = s, other
                    break
        rival = next(
            (s for s, other in ranked if other != faq_id and not self._covers(faq_id, other, ranked[0][1])),
            0.0,
        )
        return FaqMatch(self.entries[faq_id], score, score - rival)

    def _neighbours(self, national: str, local: str) -> bool:
        """A local entry may stand in for a national one on the same rule or the same tax."""
        a, b = self.entries[national], self.entries[local]
        return same_rule(a, b) or bool(set(a.tax_types) & set(b.tax_types))

    def _covers(self, chosen: str, other: str, top: str) -> bool:
        """Whether ``other`` is no rival to ``chosen``: same rule, or a national entry on the same tax
        that the asker's local entry ``chosen`` makes specific (or that it replaced at the top)."""
        if self.same_topic(chosen, other) or (other == top and chosen != top):
            return True
        local, national = self.entries[chosen], self.entries[other]
        return (
            bool(self.local_delta)
            and local.region != NATIONAL
            and national.region == NATIONAL
            and self._neighbours(other, chosen)
        )

    def accept(self, found: FaqMatch | None) -> FaqMatch | None:
        if found and found.score >= self.threshold and found.margin >= self.margin:
            return found
        return None

    def best(
        self,
        query: str,
        qvec: np.ndarray,
        allowed: Callable[[FaqEntry], bool],
        taxes: Collection[str] = (),
    ) -> FaqMatch | None:
        return self.pick(self.ranked(query, qvec, allowed, taxes))

    def match(
        self,
        query: str,
        qvec: np.ndarray,
        allowed: Callable[[FaqEntry], bool],
        taxes: Collection[str] = (),
    ) -> FaqMatch | None:
        return self.accept(self.best(query, qvec, allowed, taxes))
