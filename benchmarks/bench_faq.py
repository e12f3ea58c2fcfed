"""FAQ-first calibration: precision / recall of answering with a curated FAQ, with the real model.

    .venv/bin/python benchmarks/bench_faq.py [--model NAME_OR_PATH] [--cases benchmarks/faq_calibration.yml]

The index is built from the shipped content (knowledge_base/content). Cases (faq_calibration.yml): fresh
paraphrases of shipped FAQ entries (→ the expected entry), tax questions no FAQ answers and off-topic chat
(→ no FAQ-first). FAQ-first *fires* when the matcher accepts its best entry; a firing is correct when that
entry is one the case expects. precision = correct / fired, recall = correct / paraphrases,
top-1 = the best entry is an expected one (whatever its score). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.builder import build_table, make_encoder  # noqa: E402
from index.faq import FaqMatcher, named_taxes  # noqa: E402
from index.hybrid import HybridRetriever, RankingWeights  # noqa: E402
from index.tokenize import analyse  # noqa: E402
from knowledge_base.content_loader import load_content  # noqa: E402
from knowledge_base.regions import applicable_regions  # noqa: E402
from taxbot.settings import Settings  # noqa: E402


@dataclass(frozen=True)
class Case:
    question: str
    region: str | None
    expected: frozenset[str]  # empty = no FAQ should answer first
    kind: str  # "paraphrase" / "unanswered" / "off_topic"


@dataclass
class Prepared:
    case: Case
    cos: np.ndarray
    lex: np.ndarray
    eligible: dict[bool, np.ndarray]  # tax check on / off -> per-entry mask


def load_cases(path: Path) -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for row in raw["paraphrases"]:
        ids = row["faq"] if isinstance(row["faq"], list) else [row["faq"]]
        cases.append(Case(row["q"], row.get("region"), frozenset(ids), "paraphrase"))
    cases += [Case(r["q"], r.get("region"), frozenset(), "unanswered") for r in raw["unanswered"]]
    cases += [Case(q, None, frozenset(), "off_topic") for q in raw["off_topic"]]
    return cases


def prepare(retriever: HybridRetriever, cases: list[Case], as_of: date) -> list[Prepared]:
    t, faq = retriever.table, retriever.table.faq
    known = set(faq.entries)
    out = []
    previous = faq.lexical
    faq.lexical = 1.0  # so row_features computes the bigram overlap
    try:
        for case in cases:
            missing = case.expected - known
            if missing:
                raise SystemExit(f"{case.question!r}: unknown FAQ id(s) {sorted(missing)}")
            tokens, normalised = analyse(case.question)
            qvec = t.encoder.encode([normalised])[0]
            taxes = named_taxes(case.question, tokens, faq.vocabulary)
            allowed = retriever._faq_allowed(applicable_regions(case.region), as_of, ())
            cos, lex = faq.row_features(case.question, qvec)
            masks = {}
            for check in (True, False):
                faq.tax_check = check
                masks[check] = faq.eligible(allowed, taxes)
            out.append(Prepared(case, cos, lex, masks))
    finally:
        faq.lexical = previous
    return out


def measure(faq: FaqMatcher, prepared: list[Prepared]) -> dict[str, float]:
    fired = correct = top1 = 0
    paraphrases = sum(p.case.kind == "paraphrase" for p in prepared)
    wrong: list[str] = []
    for p in prepared:
        found = faq.pick(faq.rank_features(p.cos, p.lex, p.eligible[faq.tax_check]))
        if p.case.kind == "paraphrase" and found and found.entry.id in p.case.expected:
            top1 += 1
        accepted = faq.accept(found)
        if accepted:
            fired += 1
            if accepted.entry.id in p.case.expected:
                correct += 1
            else:
                wrong.append(f"{p.case.question} → {accepted.entry.id} ({accepted.score:.3f})")
    precision = correct / fired if fired else 1.0
    recall = correct / paraphrases if paraphrases else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "fired": fired, "correct": correct, "precision": precision, "recall": recall, "f1": f1,
        "top1": top1 / paraphrases if paraphrases else 0.0, "wrong": wrong,
    }  # fmt: skip


def configure(faq: FaqMatcher, w: RankingWeights) -> None:
    faq.threshold, faq.margin, faq.lexical = w.faq_threshold, w.faq_margin, w.faq_lexical
    faq.tax_check, faq.topic_margin = w.faq_tax_check, w.faq_topic_margin
    faq.local_delta = w.faq_local_delta


def row(label: str, m: dict) -> str:
    return (
        f"{label:<58} fired {m['fired']:>3}  P {m['precision']:.3f}  R {m['recall']:.3f}  "
        f"F1 {m['f1']:.3f}  top1 {m['top1']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="encoder (default: the configured embedding model)")
    parser.add_argument("--cases", type=Path, default=ROOT / "benchmarks" / "faq_calibration.yml")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument("--show-wrong", action="store_true", help="list the wrong FAQ-first answers")
    args = parser.parse_args()

    content = load_content(ROOT / "knowledge_base" / "content")
    encoder = make_encoder(args.model or Settings().resolved_embedding_model)
    retriever = HybridRetriever(build_table(content.documents, content.faqs, encoder))
    faq = retriever.table.faq
    cases = load_cases(args.cases)
    kinds = {k: sum(c.kind == k for c in cases) for k in ("paraphrase", "unanswered", "off_topic")}
    print(f"{len(cases)} cases {kinds}, {len(faq.entries)} FAQ entries, model {encoder.name}")
    prepared = prepare(retriever, cases, args.as_of)

    current = RankingWeights()
    legacy = replace(
        current, faq_threshold=0.82, faq_margin=0.04, faq_lexical=0.0, faq_tax_check=False,
        faq_topic_margin=False, faq_local_delta=0.0,
    )  # fmt: skip
    for label, w in (("previous (0.82 / 0.04, any runner-up, no tax check)", legacy), ("current", current)):
        configure(faq, w)
        m = measure(faq, prepared)
        print(row(label, m))
        if args.show_wrong:
            for line in m["wrong"]:
                print("    wrong:", line)

    print("\ngrid (threshold / margin / lexical / local delta), precision >= 0.9 first, by F1:")
    results = []
    grid = itertools.product(
        (0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72, 0.74, 0.76, 0.78, 0.80, 0.82),
        (0.02, 0.04, 0.05, 0.06, 0.08, 0.1),
        (0.0, 0.1, 0.15, 0.2, 0.3),
        (0.0, 0.05, 0.1, 0.15, 0.2),
    )
    for thr, margin, lexical, local in grid:
        w = replace(current, faq_threshold=thr, faq_margin=margin, faq_lexical=lexical, faq_local_delta=local)
        configure(faq, w)
        results.append((w, measure(faq, prepared)))
    results.sort(key=lambda r: (r[1]["precision"] >= 0.9, r[1]["f1"], r[1]["precision"]), reverse=True)
    for w, m in results[:20]:
        label = f"{w.faq_threshold:.2f} / {w.faq_margin:.2f} / {w.faq_lexical:.2f} / {w.faq_local_delta:.2f}"
        print(row(label, m))
    print("\nablations of the current parameters:")
    for label, w in (
        ("no tax-type check", replace(current, faq_tax_check=False)),
        ("margin against any runner-up", replace(current, faq_topic_margin=False)),
        ("no local preference", replace(current, faq_local_delta=0.0)),
    ):
        configure(faq, w)
        print(row(label, measure(faq, prepared)))
    print("\nprecision / recall by threshold (current margin, lexical, checks):")
    for thr in (0.66, 0.68, 0.70, 0.72, 0.74, 0.76, 0.78, 0.80, 0.82, 0.84, 0.86):
        configure(faq, replace(current, faq_threshold=thr))
        print(row(f"threshold {thr:.2f}", measure(faq, prepared)))
    configure(faq, current)


if __name__ == "__main__":
    main()
