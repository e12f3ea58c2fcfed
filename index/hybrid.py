"""HybridRetriever: filters (region, date, tax type) first, then BM25 + dense fused with priors; FAQ first."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from index.faq import named_taxes
from index.fusion import min_max_normalise
from index.ranking import detect_tax_types, has_tax_signal, hierarchy_prior, mentioned_documents
from index.table import IndexTable
from index.tokenize import analyse
from knowledge_base.models import NATIONAL, Applicability, Document, FaqEntry, SearchHit
from knowledge_base.regions import applicable_regions

MAX_K = 50


@dataclass(frozen=True)
class RankingWeights:
    """The few global weights tuned on dev; nothing here names a question."""

    bm25: float = 1.0
    dense: float = 1.0
    prior: float = 1.0  # tax type × hierarchy prior
    mention: float = 1.5  # the question quotes the document's 文号 / title
    historical_penalty: float = 0.15
    candidates: int = 100
    max_per_doc: int = 2
    # no-hit: no tax words in the question and best cosine below this -> [] (off-topic chat reaches
    # ~0.65 with the shipped model, e.g. booking a flight to 北京 vs a Beijing rule)
    min_dense: float = 0.72
    # FAQ first: an entry's best variant scores (1 - faq_lexical) x cosine + faq_lexical x bigram Dice; it
    # answers first when that is >= faq_threshold and >= faq_margin above the best entry on another rule
    # (index.faq.same_rule), is about the taxes the question names, and is allowed for the asker; a local
    # entry within faq_local_delta of a national one is preferred. Calibrated with benchmarks/bench_faq.py
    # (132 fresh paraphrases, 43 unanswered tax questions, 12 chats; shipped model, 2026-12):
    #   before (0.82 / 0.04 / any runner-up / no tax check):  P 0.892  R 0.439  top-1 0.886
    #   chosen (0.68 / 0.06 / lexical 0.10 / local 0.15):      P 0.938  R 0.803  top-1 0.932
    #   threshold curve (rest as chosen): 0.60 P 0.924 R 0.833 | 0.66 P 0.931 R 0.818 | 0.68 P 0.938
    #   R 0.803 | 0.70 P 0.933 R 0.735 | 0.74 P 0.929 R 0.591 | 0.78 P 0.953 R 0.462 | 0.82 P 0.971 R 0.258
    #   ablations: without the tax check P 0.929 R 0.795; margin against any runner-up P 0.935 R 0.758;
    #   no local preference P 0.927 R 0.773; local delta 0.10-0.20 alike; margin 0.05 / lexical 0.20 loses P
    faq_threshold: float = 0.68
    faq_margin: float = 0.06
    faq_lexical: float = 0.10
    faq_tax_check: bool = True  # an FAQ about other taxes than the question names never answers first
    faq_topic_margin: bool = True  # the margin counts only against a runner-up on another rule
    faq_local_delta: float = 0.15  # a local FAQ of the asker this close behind a national one wins instead
    # "did you mean": FAQ suggestions need at least this score (calibration set: the expected entry is in
    # the top 3 for 126/132 paraphrases, no chat gets a suggestion (0.5: 1/12), 20/43 unanswered get one)
    related_min: float = 0.6
    # local specificity: a rule of the asker's region (or province) on the question's taxes that already
    # matches well gets this much on top, so 北京市's 12元 decision outranks the national 1.2-12元 range
    # (环境保护税法 第六条) for an asker in 北京; 0.6 is about the 法律 vs 地方性法规 gap of the hierarchy
    # prior (1.0 vs 0.45). Dev is flat for 0 <= boost <= 1 with floor 0.6-0.8 (hit@1 0.675, hit@5 0.889,
    # MRR 0.771: the corpus has 8 local documents); without the tax condition boost >= 0.3 cost up to
    # 2 hit@1 (浙江 pension / non-tax-revenue rules ranked first for CIT questions)
    local_boost: float = 0.6
    local_floor: float = 0.7  # ... only when its fused score is at least this share of the best one


def local_bonus(base: np.ndarray, local: np.ndarray, boost: float, floor: float) -> np.ndarray:
    """``boost`` for local candidates whose score is at least ``floor`` × the best (else 0)."""
    top = float(base.max()) if len(base) else 0.0
    if top <= 0:
        return np.zeros(len(base))
    return np.where(local & (base >= floor * top), boost, 0.0)


def _why(doc: Document, applicability: Applicability, as_of: date) -> str:
    if applicability is Applicability.NATIONAL:
        return "全国有效"
    if applicability is Applicability.LOCAL:
        return f"{doc.region}地方规定"
    if doc.withdrawn:
        return "已撤回"
    if doc.effective and as_of < doc.effective:
        return f"尚未施行（{doc.effective.isoformat()}起施行）"
    if doc.expires:
        return f"已于{doc.expires.isoformat()}废止" if doc.status != "已修改" else f"已于{doc.expires}修改"
    by = f"，由{doc.superseded_by}取代" if doc.superseded_by else ""
    return f"{doc.status}{by}"


class HybridRetriever:
    def __init__(self, table: IndexTable, weights: RankingWeights | None = None) -> None:
        self.table = table
        self.weights = weights or RankingWeights()
        faq = table.faq
        faq.threshold, faq.margin = self.weights.faq_threshold, self.weights.faq_margin
        faq.lexical = self.weights.faq_lexical
        faq.tax_check, faq.topic_margin = self.weights.faq_tax_check, self.weights.faq_topic_margin
        faq.local_delta = self.weights.faq_local_delta
        self.lock = threading.RLock()
        self._masks: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._mask_version = -1
        self.mode = "hybrid"  # "bm25" / "dense" for the evaluation baselines
        self.store_seq = 0  # last knowledge-store change this index contains

    # ---- filters -----------------------------------------------------------------------------------
    def _doc_filter(
        self, regions: frozenset[str], as_of: date, tax_types: tuple[str, ...], history: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row mask, allowed keys, per-doc in-force flags), cached until the index changes."""
        t = self.table
        if self._mask_version != t.version:
            self._masks.clear()
            self._mask_version = t.version
        cache_key = (regions, as_of, tax_types, history)
        if cache_key not in self._masks:
            in_force = np.array([t.docs[d].in_force(as_of) for d in t.doc_order], dtype=bool)
            ok = np.array(
                [
                    t.docs[d].region in regions
                    and not t.docs[d].withdrawn
                    and (not tax_types or bool(set(t.docs[d].tax_types) & set(tax_types)))
                    for d in t.doc_order
                ],
                dtype=bool,
            )
            doc_ok = ok & (in_force | history) if len(ok) else ok
            rows = doc_ok[t.row_doc] if len(t.row_doc) else np.zeros(0, dtype=bool)
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[cache_key] = (rows, t.row_keys[rows], in_force)
        return self._masks[cache_key]

    def _faq_allowed(self, regions: frozenset[str], as_of: date, tax_types: tuple[str, ...]):
        docs = self.table.docs

        def allowed(entry: FaqEntry) -> bool:
            if entry.region not in regions or not entry.in_force(as_of):
                return False
            if tax_types and entry.tax_types and not set(entry.tax_types) & set(tax_types):
                return False
            # never answer from a FAQ whose cited regulation is not in force on that date
            return all(c.doc_id not in docs or docs[c.doc_id].in_force(as_of) for c in entry.citations)

        return allowed

    # ---- search ------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        region: str | None = None,
        as_of: date | None = None,
        tax_types: Sequence[str] | None = None,
        k: int = 5,
        include_history: bool = False,
    ) -> list[SearchHit]:
        query = (query or "").strip()
        if not query:
            raise ValueError("query is empty")
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
        regions = applicable_regions(region)  # ValueError names an unknown region
        as_of = as_of or date.today()
        types = tuple(sorted(set(tax_types or ())))
        with self.lock:
            return self._search(query, regions, as_of, types, k, include_history)

    def _search(self, query, regions, as_of, types, k, history) -> list[SearchHit]:
        t, w = self.table, self.weights
        tokens, normalised = analyse(query)
        qvec = t.encoder.encode([normalised])[0] if self.mode != "bm25" else None
        taxes = detect_tax_types(query, tokens, t.tax_vocabulary)
        hits: list[SearchHit] = []
        if qvec is not None and self.mode == "hybrid":
            faq_taxes = named_taxes(query, tokens, t.faq.vocabulary)
            match = t.faq.match(query, qvec, self._faq_allowed(regions, as_of, types), faq_taxes)
            if match:
                hits.append(self._faq_hit(match.entry, match.score))
        rows_ok, keys_ok, in_force = self._doc_filter(regions, as_of, types, history)
        if not len(keys_ok):
            return hits
        bm = np.zeros(len(t.rows), dtype=np.float32)
        cand: set[int] = set()
        if self.mode != "dense":
            bm = np.where(rows_ok, t.bm25.scores(tokens), 0.0)
            n = min(w.candidates, len(bm))
            top = np.argpartition(-bm, n - 1)[:n] if n < len(bm) else np.arange(len(bm))
            cand.update(int(i) for i in top if bm[i] > 0)
        if qvec is not None:
            keys, _ = t.dense.search(qvec, w.candidates, keys_ok)
            cand.update(t.key_row[int(key)] for key in keys if int(key) in t.key_row)
        if not cand:
            return hits
        rows = np.fromiter(cand, dtype=np.int64)
        dn = t.vectors[rows] @ qvec if qvec is not None else np.zeros(len(rows), dtype=np.float32)
        if self.mode == "hybrid" and not has_tax_signal(query, tokens) and dn.max() < w.min_dense:
            return hits  # the question is not about taxes and nothing is close: no confident answer
        scores = self._fuse(query, taxes, rows, bm[rows], dn)
        ordinal_in_force = in_force[t.row_doc[rows]]
        scores = np.where(ordinal_in_force, scores, scores - w.historical_penalty)
        return hits + self._top_hits(rows, scores, ordinal_in_force, as_of, k - len(hits))

    def related_faqs(
        self,
        query: str,
        *,
        region: str | None = None,
        as_of: date | None = None,
        tax_types: Sequence[str] | None = None,
        k: int = 3,
        min_score: float | None = None,
    ) -> list[SearchHit]:
        """The ``k`` closest FAQ entries the asker may be given (kind="faq"), best first, for "did you
        mean ...?" — also when none is close enough to answer first. Same region, date, tax-type and
        tax-consistency filters as FAQ-first; entries scoring below ``min_score`` are left out."""
        query = (query or "").strip()
        if not query:
            raise ValueError("query is empty")
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
        regions = applicable_regions(region)
        as_of = as_of or date.today()
        types = tuple(sorted(set(tax_types or ())))
        floor = self.weights.related_min if min_score is None else min_score
        with self.lock:
            t = self.table
            tokens, normalised = analyse(query)
            qvec = t.encoder.encode([normalised])[0]
            taxes = named_taxes(query, tokens, t.faq.vocabulary)
            ranked = t.faq.ranked(query, qvec, self._faq_allowed(regions, as_of, types), taxes)
            chosen = t.faq.pick(ranked)  # the entry FAQ-first would use (a local one may jump the queue)
            if chosen:
                ranked = [(chosen.score, chosen.entry.id)] + [r for r in ranked if r[1] != chosen.entry.id]
            return [self._faq_hit(t.faq.entries[fid], s) for s, fid in ranked[:k] if s >= floor]

    def _fuse(self, query: str, taxes: set[str], rows: np.ndarray, bm: np.ndarray, dn: np.ndarray):
        t, w = self.table, self.weights
        if self.mode == "bm25":
            return bm.astype(np.float64)
        if self.mode == "dense":
            return dn.astype(np.float64)
        bm_n = bm / bm.max() if bm.max() > 0 else bm
        dn_map = min_max_normalise(dict(enumerate(dn.tolist())))
        dn_n = np.array([dn_map[i] for i in range(len(dn))])
        mentioned = mentioned_documents(query, t.keys.values())
        doc_prior: dict[str, float] = {}
        extra = np.zeros(len(rows))
        local = np.zeros(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            doc_id = t.rows[row].doc_id
            doc = t.docs[doc_id]
            if doc_id not in doc_prior:
                doc_prior[doc_id] = w.prior * hierarchy_prior(doc, taxes) + w.mention * mentioned.get(
                    doc_id, 0.0
                )
            extra[i] = doc_prior[doc_id]
            # the filters let through only the asker's own regions; a local rule is more specific only on
            # the taxes the question is about (a 浙江 pension rule says nothing on 企业所得税)
            local[i] = doc.region != NATIONAL and bool(taxes & set(doc.tax_types))
        base = w.bm25 * bm_n + w.dense * dn_n + extra
        if w.local_boost and local.any():
            base = base + local_bonus(base, local, w.local_boost, w.local_floor)
        return base

    def _top_hits(self, rows, scores, in_force, as_of: date, k: int) -> list[SearchHit]:
        t = self.table
        per_doc: dict[str, int] = {}
        out: list[SearchHit] = []
        for i in np.argsort(-scores, kind="stable"):
            if len(out) >= k:
                break
            chunk = t.rows[int(rows[i])]
            if per_doc.get(chunk.doc_id, 0) >= self.weights.max_per_doc:
                continue
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
            doc = t.docs[chunk.doc_id]
            if not in_force[i]:
                applicability = Applicability.HISTORICAL
            else:
                applicability = Applicability.NATIONAL if doc.region == NATIONAL else Applicability.LOCAL
            out.append(
                SearchHit(
                    kind="article", chunk_id=chunk.chunk_id, doc_id=doc.id, title=doc.title,
                    doc_number=doc.doc_number, region=doc.region, status=str(doc.status),
                    effective=doc.effective, article=chunk.label, text=chunk.text, score=float(scores[i]),
                    applicability=applicability, expires=doc.expires, issuer=doc.issuer,
                    doc_type=str(doc.doc_type), why=_why(doc, applicability, as_of),
                )
            )  # fmt: skip
        return out

    def _faq_hit(self, entry: FaqEntry, score: float) -> SearchHit:
        first = entry.citations[0] if entry.citations else None
        doc = self.table.docs.get(first.doc_id) if first else None
        applicability = Applicability.NATIONAL if entry.region == NATIONAL else Applicability.LOCAL
        return SearchHit(
            kind="faq", chunk_id=f"faq:{entry.id}", doc_id=doc.id if doc else "",
            title=doc.title if doc else entry.question, doc_number=doc.doc_number if doc else "",
            region=entry.region, status=str(doc.status) if doc else "有效",
            effective=doc.effective if doc else entry.valid_from, article=first.article if first else "",
            text=entry.answer, score=float(score), applicability=applicability,
            issuer=doc.issuer if doc else "", doc_type=str(doc.doc_type) if doc else "",
            faq=entry, citations=entry.citations,
            why="全国适用的常见问题答复" if entry.region == NATIONAL else f"{entry.region}常见问题答复",
        )  # fmt: skip
