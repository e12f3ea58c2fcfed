"""JSON shapes of search results, shared by `taxbot kb search --json` and `GET /api/kb/search`."""

from __future__ import annotations

from datetime import date
from typing import Any

from knowledge_base.models import Document, SearchHit


def hit_json(hit: SearchHit) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": hit.kind,
        "doc_id": hit.doc_id,
        "title": hit.title,
        "doc_number": hit.doc_number,
        "region": hit.region,
        "status": hit.status,
        "effective": hit.effective.isoformat() if hit.effective else None,
        "article": hit.article,
        "text": hit.text,
        "score": round(hit.score, 4),
        "applicability": str(hit.applicability),
        "why": hit.why,
    }
    if hit.kind == "faq" and hit.faq is not None:
        out["faq_id"] = hit.faq.id
        out["question"] = hit.faq.question
        out["citations"] = [{"doc_id": c.doc_id, "article": c.article} for c in hit.citations]
    return out


def search_json(query: str, region: str | None, as_of: date, hits: list[SearchHit]) -> dict[str, Any]:
    return {"query": query, "region": region, "as_of": as_of.isoformat(), "hits": [hit_json(h) for h in hits]}


def document_json(doc: Document, *, with_articles: bool = True) -> dict[str, Any]:
    def iso(d: date | None) -> str | None:
        return d.isoformat() if d else None

    out: dict[str, Any] = {
        "id": doc.id, "title": doc.title, "doc_number": doc.doc_number,
        "doc_number_aliases": list(doc.doc_number_aliases), "issuer": doc.issuer,
        "doc_type": str(doc.doc_type),
        "region": doc.region, "published": iso(doc.published), "effective": iso(doc.effective),
        "expires": iso(doc.expires), "status": str(doc.status), "status_note": doc.status_note,
        "superseded_by": doc.superseded_by, "supersedes": list(doc.supersedes),
        "tax_types": list(doc.tax_types),
        "source": doc.source, "withdrawn": doc.withdrawn,
    }  # fmt: skip
    if with_articles:
        out["articles"] = [
            {"seq": a.seq, "label": a.label, "chapter": a.chapter, "section": a.section, "text": a.text}
            for a in doc.articles
        ]
    return out
