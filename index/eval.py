"""Retrieval evaluation on 12366 questions: doc-level hit@1/hit@k, MRR and latency for BM25, dense and hybrid.

The hit rule is the eval set's own (README): a returned chunk hits when its document's 文号 (or an alias)
or its title equals one the official answer cites, after normalisation.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from index.hybrid import HybridRetriever
from index.ranking import normalise_title
from knowledge_base.models import Document
from knowledge_base.numerals import cn_to_int
from taxbot.errors import ConfigError

MODES = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    region: str | None
    asked: date | None
    cited: tuple[dict, ...]


def eval_doc_number(text: str) -> str:
    """The eval README's 文号 rule exactly (stricter than the ranking's own normalisation)."""
    s = re.sub(r"\s+", "", text or "").replace("中华人民共和国", "").replace("国令", "国务院令")
    s = s.translate(str.maketrans("〔〕［］【】", "[][][]"))
    return re.sub(r"(?<=第)[零〇一二两三四五六七八九十百千]+(?=号)", lambda m: str(cn_to_int(m.group())), s)


def is_hit(doc: Document, cited: Iterable[dict]) -> bool:
    numbers = {eval_doc_number(n) for n in (doc.doc_number, *doc.doc_number_aliases) if n}
    title = normalise_title(doc.title)
    for c in cited:
        if c.get("doc_number") and eval_doc_number(c["doc_number"]) in numbers:
            return True
        if c.get("title") and normalise_title(c["title"]) == title:
            return True
    return False


def load_questions(path: Path) -> list[EvalQuestion]:
    if not path.is_file():
        raise ConfigError(f"questions file not found: {path}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        if not row.get("in_corpus"):
            continue
        asked = date.fromisoformat(row["answered_at"]) if row.get("answered_at") else None
        out.append(
            EvalQuestion(row["id"], row["question"], row.get("region"), asked, tuple(row.get("cited", ())))
        )
    return out


def evaluate(
    retriever: HybridRetriever,
    questions: list[EvalQuestion],
    docs: dict[str, Document],
    *,
    k: int = 5,
    modes: Iterable[str] = MODES,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """{mode: {hit@1, hit@k, mrr, p50_ms, p95_ms}} measured on the same index in one run."""
    results: dict[str, dict[str, float]] = {}
    modes = list(modes)
    total, done = len(questions) * len(modes), 0
    previous = retriever.mode
    try:
        for mode in modes:
            retriever.mode = mode
            firsts, hits_k, rr, times = [], [], [], []
            for q in questions:
                started = time.perf_counter()
                hits = retriever.search(q.question, region=q.region, as_of=q.asked, k=k)
                times.append((time.perf_counter() - started) * 1000)
                ranked = list(dict.fromkeys(h.doc_id for h in hits if h.doc_id))  # doc-level ranking
                ranks = [
                    i
                    for i, doc_id in enumerate(ranked, start=1)
                    if doc_id in docs and is_hit(docs[doc_id], q.cited)
                ]
                first = ranks[0] if ranks else None
                firsts.append(first == 1)
                hits_k.append(first is not None and first <= k)
                rr.append(1.0 / first if first else 0.0)
                done += 1
                if progress:
                    progress(done, total)
            results[mode] = {
                "hit@1": round(float(np.mean(firsts)), 4) if questions else 0.0,
                f"hit@{k}": round(float(np.mean(hits_k)), 4) if questions else 0.0,
                "mrr": round(float(np.mean(rr)), 4) if questions else 0.0,
                "p50_ms": round(float(np.percentile(times, 50)), 2) if times else 0.0,
                "p95_ms": round(float(np.percentile(times, 95)), 2) if times else 0.0,
            }
    finally:
        retriever.mode = previous
    return results
