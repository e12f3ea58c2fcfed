"""Knowledge search for agents: the bot's own Retriever, with the console's filters and display fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from channels.masking import mask
from index.base import Retriever
from index.hybrid import MAX_K
from knowledge_base.models import NATIONAL, SearchHit
from knowledge_base.regions import normalize_region
from taxbot.staff.errors import Invalid


@dataclass(frozen=True)
class SearchFilters:
    q: str
    region: str | None = None
    tax_type: str | None = None
    doc_type: str | None = None
    history: bool = False  # also rules not in force (repealed, expired), marked historical
    as_of: date | None = None
    k: int = 10


def parse_filters(
    q: str, region: str = "", tax_type: str = "", doc_type: str = "", history: bool = False,
    as_of: str = "", k: int = 10,
) -> SearchFilters:  # fmt: skip
    if not q.strip():
        raise Invalid("请输入要检索的问题或关键词 (q must not be empty)")
    if not 1 <= k <= MAX_K:
        raise Invalid(f"k must be between 1 and {MAX_K}, got {k}")
    canonical = None
    if region.strip() and region.strip() != NATIONAL:
        canonical = normalize_region(region)
        if canonical is None:
            raise Invalid(f"unknown region {region!r}")
    try:
        when = date.fromisoformat(as_of) if as_of.strip() else None
    except ValueError:
        raise Invalid(f"bad as_of date {as_of!r}; expected YYYY-MM-DD") from None
    return SearchFilters(
        q=q.strip(), region=canonical, tax_type=tax_type.strip() or None, doc_type=doc_type.strip() or None,
        history=history, as_of=when, k=k,
    )  # fmt: skip


def run_search(retriever: Retriever, filters: SearchFilters) -> list[SearchHit]:
    """FAQ hits first, then articles; a document-type filter is applied to a wider candidate list."""
    k = MAX_K if filters.doc_type else filters.k
    try:
        hits = retriever.search(
            filters.q, region=filters.region, as_of=filters.as_of or date.today(),
            tax_types=[filters.tax_type] if filters.tax_type else None, k=k, include_history=filters.history,
        )  # fmt: skip
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if filters.doc_type:
        hits = [h for h in hits if h.kind == "faq" or h.doc_type == filters.doc_type]
    hits.sort(key=lambda h: h.kind != "faq")  # stable: keeps the retriever's order within each kind
    return hits[: filters.k]


def document_link(doc_id: str, article: str) -> str:
    if not doc_id:
        return ""
    link = f"/documents/{quote(doc_id, safe='')}"
    return f"{link}?article={quote(article, safe='')}" if article else link


def citation_text(hit: SearchHit) -> str:
    if not hit.doc_id:
        return ""
    number = f"（{hit.doc_number}）" if hit.doc_number else ""
    return f"《{hit.title}》{number}{hit.article}"


def hit_view(hit: SearchHit) -> dict[str, Any]:
    """What the page and the API show of one hit (free text masked)."""
    text = mask(hit.text)
    citation = citation_text(hit)
    return {
        "kind": hit.kind, "doc_id": hit.doc_id, "title": hit.title, "doc_number": hit.doc_number,
        "issuer": hit.issuer, "doc_type": hit.doc_type, "region": hit.region, "status": str(hit.status),
        "effective": hit.effective.isoformat() if hit.effective else None,
        "expires": hit.expires.isoformat() if hit.expires else None, "article": hit.article, "text": text,
        "applicability": str(hit.applicability), "why": hit.why, "score": round(hit.score, 4),
        "faq_id": hit.faq.id if hit.faq else None, "question": mask(hit.faq.question) if hit.faq else None,
        "citations": [
            {"doc_id": c.doc_id, "article": c.article, "link": document_link(c.doc_id, c.article)}
            for c in hit.citations
        ],
        "link": document_link(hit.doc_id, hit.article), "citation": citation,
        "copy_text": f"{text}\n依据：{citation}" if citation else text,
    }  # fmt: skip
