"""Conversions between the domain dataclasses and rows of the store's tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from knowledge_base.models import Article, Citation, DocStatus, Document, FaqEntry, FaqStatus


@dataclass(frozen=True)
class Change:
    """One entry of the change log: what the index has to catch up on."""

    seq: int
    kind: str  # "document" | "faq"
    key: str  # document id or FAQ id
    op: str  # "upsert" | "withdraw"
    actor: str
    at: datetime


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def document_hash(doc: Document) -> str:
    """Fingerprint of everything in a document except the operator's withdrawn flag."""
    payload = {
        **document_row(doc, content_hash="", updated_at=None),
        "articles": [article_row(a) for a in doc.articles],
    }
    payload.pop("withdrawn")
    payload.pop("updated_at")
    payload.pop("content_hash")
    for key in ("published", "effective", "expires"):
        payload[key] = _iso(payload[key])
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def document_row(doc: Document, *, content_hash: str, updated_at: datetime | None) -> dict[str, Any]:
    return {
        "id": doc.id,
        "title": doc.title,
        "doc_number": doc.doc_number,
        "doc_number_aliases": list(doc.doc_number_aliases),
        "issuer": doc.issuer,
        "doc_type": str(doc.doc_type),
        "region": doc.region,
        "published": doc.published,
        "effective": doc.effective,
        "expires": doc.expires,
        "status": str(doc.status),
        "status_note": doc.status_note,
        "superseded_by": doc.superseded_by,
        "supersedes": list(doc.supersedes),
        "tax_types": list(doc.tax_types),
        "source": doc.source,
        "withdrawn": doc.withdrawn,
        "content_hash": content_hash,
        "updated_at": updated_at,
    }


def article_row(article: Article) -> dict[str, Any]:
    return {
        "doc_id": article.doc_id,
        "seq": article.seq,
        "label": article.label,
        "chapter": article.chapter,
        "section": article.section,
        "text": article.text,
    }


def document_from_row(row: Mapping[str, Any], article_rows: list[Mapping[str, Any]]) -> Document:
    return Document(
        id=row["id"],
        title=row["title"],
        doc_number=row["doc_number"],
        doc_number_aliases=tuple(row["doc_number_aliases"] or ()),
        issuer=row["issuer"],
        doc_type=row["doc_type"],
        region=row["region"],
        published=row["published"],
        effective=row["effective"],
        expires=row["expires"],
        status=DocStatus(row["status"]),
        status_note=row["status_note"],
        superseded_by=row["superseded_by"],
        supersedes=tuple(row["supersedes"] or ()),
        tax_types=tuple(row["tax_types"] or ()),
        source=row["source"],
        articles=tuple(
            Article(
                doc_id=a["doc_id"],
                seq=a["seq"],
                label=a["label"],
                text=a["text"],
                chapter=a["chapter"],
                section=a["section"],
            )
            for a in sorted(article_rows, key=lambda a: a["seq"])
        ),
        withdrawn=bool(row["withdrawn"]),
    )


def faq_content(entry: FaqEntry) -> dict[str, Any]:
    """The FAQ fields that make up a version (no id, version number or timestamp)."""
    return {
        "question": entry.question,
        "answer": entry.answer,
        "similar_questions": list(entry.similar_questions),
        "citations": [{"doc": c.doc_id, "article": c.article} for c in entry.citations],
        "region": entry.region,
        "tax_types": list(entry.tax_types),
        "valid_from": entry.valid_from,
        "valid_to": entry.valid_to,
        "status": str(entry.status),
    }


def faq_from_row(row: Mapping[str, Any], *, faq_id: str | None = None) -> FaqEntry:
    return FaqEntry(
        id=faq_id or row["id"],
        question=row["question"],
        answer=row["answer"],
        similar_questions=tuple(row["similar_questions"] or ()),
        citations=tuple(
            Citation(doc_id=c["doc"], article=c.get("article", "")) for c in row["citations"] or ()
        ),
        region=row["region"],
        tax_types=tuple(row["tax_types"] or ()),
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        status=FaqStatus(row["status"]),
        updated_at=utc(row["updated_at"]),
        version=row["version"],
    )
