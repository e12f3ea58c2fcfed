"""The shipped content in knowledge_base/content/ follows its README's rules (whatever files exist now)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge_base.content_loader import Content, load_content
from knowledge_base.regions import is_known_region

CONTENT_DIR = Path(__file__).resolve().parents[2] / "knowledge_base" / "content"


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(CONTENT_DIR)


def test_no_problems_in_shipped_content(content: Content) -> None:
    assert content.problems == [], "\n".join(content.problems)


def test_every_faq_has_two_paraphrases_and_resolving_citations(content: Content) -> None:
    docs = {d.id: d for d in content.documents}
    for faq in content.faqs:
        assert len(faq.similar_questions) >= 2, faq.id
        assert faq.citations, faq.id
        for cite in faq.citations:
            assert cite.doc_id in docs, (faq.id, cite.doc_id)
            if cite.article:
                assert cite.article in {a.label for a in docs[cite.doc_id].articles}, (faq.id, cite)


def test_ids_unique_and_regions_known(content: Content) -> None:
    faq_ids = [f.id for f in content.faqs]
    assert len(faq_ids) == len(set(faq_ids))
    assert len({d.id for d in content.documents}) == len(content.documents)
    assert all(is_known_region(d.region) for d in content.documents)
    assert all(is_known_region(f.region) for f in content.faqs)


def test_published_answers_rely_on_rules_in_force(content: Content) -> None:
    """An answer valid today must cite at least one document in force today (never only a repealed rule)."""
    today = date.today()
    docs = {d.id: d for d in content.documents}
    stale = []
    for faq in content.faqs:
        cited = [docs[c.doc_id] for c in faq.citations if c.doc_id in docs]
        if faq.in_force(today) and cited and not any(d.in_force(today) for d in cited):
            stale.append(f"{faq.id} cites only {[(d.id, str(d.status)) for d in cited]}")
    assert stale == [], "\n".join(stale)
