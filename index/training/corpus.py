"""Training text from the project's own content (``knowledge_base/content/``): texts and positive pairs.

Only the shipped content is read — FAQ questions, their similar questions and answers, and the
own-words article digests of the documents. Everything is returned in a stable order so the same
files always give the same training data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.content_loader import load_content
from knowledge_base.models import Document, FaqEntry


@dataclass(frozen=True)
class TrainingText:
    texts: tuple[str, ...] = ()  # every distinct text (for the vocabulary)
    pairs: tuple[tuple[str, str], ...] = ()  # (anchor, positive) for the contrastive step
    counts: dict[str, int] = field(default_factory=dict)


def _article_texts(doc: Document) -> dict[str, str]:
    return {a.label: a.text for a in doc.articles}


def _faq_pairs(faq: FaqEntry, docs: dict[str, Document]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    asks = [faq.question, *faq.similar_questions]
    # every phrasing of the question against the canonical one, and against the answer
    pairs += [(s, faq.question) for s in faq.similar_questions]
    pairs += [(a, faq.answer) for a in asks if faq.answer]
    for cite in faq.citations:
        doc = docs.get(cite.doc_id)
        if doc is None:
            continue
        if cite.article and cite.article in _article_texts(doc):
            digest = _article_texts(doc)[cite.article]
            pairs += [(a, f"{doc.title} {digest}") for a in asks]
        else:
            pairs.append((faq.question, doc.title))
    return pairs


def read_training_text(content_dir: Path) -> TrainingText:
    """Texts and (anchor, positive) pairs of ``content_dir``; empty when it holds nothing usable."""
    content = load_content(content_dir)
    docs = {d.id: d for d in sorted(content.documents, key=lambda d: d.id)}
    faqs = sorted(content.faqs, key=lambda f: f.id)
    pairs: list[tuple[str, str]] = []
    for doc in docs.values():
        for art in doc.articles:
            if art.text:
                pairs.append((doc.title, art.text))
                if art.chapter:
                    pairs.append((art.chapter, art.text))
    for faq in faqs:
        pairs += _faq_pairs(faq, docs)
    pairs = [(a.strip(), b.strip()) for a, b in pairs if a.strip() and b.strip() and a.strip() != b.strip()]
    texts = [t for pair in pairs for t in pair]
    texts += [d.title for d in docs.values()] + [f.question for f in faqs]
    distinct = tuple(dict.fromkeys(texts))
    counts = {
        "documents": len(docs),
        "articles": sum(len(d.articles) for d in docs.values()),
        "faqs": len(faqs),
        "similar_questions": sum(len(f.similar_questions) for f in faqs),
        "pairs": len(dict.fromkeys(pairs)),
        "texts": len(distinct),
    }
    return TrainingText(texts=distinct, pairs=tuple(dict.fromkeys(pairs)), counts=counts)
