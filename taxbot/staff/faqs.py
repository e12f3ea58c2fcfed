"""FAQ workflow: agents draft, reviewers approve (publish) or reject with a comment; versions, rollback,
withdrawal. Taxpayer identifiers are masked before anything is stored."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from channels.masking import mask
from knowledge_base.models import Citation, FaqEntry, FaqStatus
from knowledge_base.store import FaqNotFound, KnowledgeStore
from taxbot.errors import DocumentNotFound
from taxbot.staff import tables as t
from taxbot.staff.accounts import StaffStore, now
from taxbot.staff.errors import Conflict, Invalid, NotFound
from taxbot.staff.schemas import FaqCreate


def faq_public(entry: FaqEntry, review: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": entry.id, "question": mask(entry.question),
        "similar_questions": [mask(q) for q in entry.similar_questions], "answer": mask(entry.answer),
        "citations": [{"doc_id": c.doc_id, "article": c.article} for c in entry.citations],
        "region": entry.region, "tax_types": list(entry.tax_types),
        "valid_from": entry.valid_from, "valid_to": entry.valid_to, "status": str(entry.status),
        "version": entry.version, "updated_at": entry.updated_at, "review": review,
    }  # fmt: skip


class FaqWorkflow:
    def __init__(self, store: KnowledgeStore, staff: StaffStore) -> None:
        self.store = store
        self.staff = staff

    def _entry(self, faq_id: str, data: FaqCreate) -> FaqEntry:
        missing = [c.doc_id for c in data.citations if self.store.get_document(c.doc_id) is None]
        if missing:
            raise Invalid(f"cited documents not in the knowledge base: {', '.join(missing)}")
        return FaqEntry(
            id=faq_id, question=mask(data.question), answer=mask(data.answer),
            similar_questions=tuple(mask(q) for q in data.similar_questions),
            citations=tuple(Citation(c.doc_id, c.article.strip()) for c in data.citations),
            region=data.region, tax_types=tuple(data.tax_types), valid_from=data.valid_from,
            valid_to=data.valid_to, status=FaqStatus.DRAFT,
        )  # fmt: skip

    def get(self, faq_id: str) -> FaqEntry:
        entry = self.store.get_faq(faq_id)
        if entry is None:
            raise NotFound(f"no FAQ entry with id {faq_id!r}")
        return entry

    def _draft(self, faq_id: str) -> FaqEntry:
        entry = self.get(faq_id)
        if entry.status != FaqStatus.DRAFT:
            raise Conflict(f"FAQ {faq_id!r} is {entry.status}, not a draft")
        return entry

    def create_draft(self, data: FaqCreate, actor: str) -> FaqEntry:
        faq_id = f"faq-staff-{secrets.token_hex(5)}"
        entry = self.store.upsert_faq(self._entry(faq_id, data), actor=actor)
        self.staff.audit(actor, "draft_faq", "faq", faq_id, after=f"v{entry.version}")
        return entry

    def update_draft(self, faq_id: str, data: FaqCreate, actor: str) -> FaqEntry:
        before = self._draft(faq_id)
        entry = self.store.upsert_faq(self._entry(faq_id, data), actor=actor)
        self.staff.audit(
            actor, "edit_faq", "faq", faq_id, before=f"v{before.version}", after=f"v{entry.version}"
        )
        return entry

    def approve(self, faq_id: str, actor: str, comment: str = "") -> FaqEntry:
        before = self._draft(faq_id)
        entry = self.store.upsert_faq(replace(before, status=FaqStatus.PUBLISHED), actor=actor)
        self._review(faq_id, before.version, "approved", comment, actor)
        self.staff.audit(
            actor, "publish_faq", "faq", faq_id, before=f"v{before.version}", after=f"v{entry.version}"
        )
        return entry

    def reject(self, faq_id: str, actor: str, comment: str) -> FaqEntry:
        before = self._draft(faq_id)
        self._review(faq_id, before.version, "rejected", comment, actor)
        self.staff.audit(actor, "reject_faq", "faq", faq_id, before=f"v{before.version}")
        return before

    def rollback(self, faq_id: str, version: int, actor: str) -> FaqEntry:
        before = self.get(faq_id)
        try:
            entry = self.store.rollback_faq(faq_id, version, actor=actor)
        except FaqNotFound as exc:
            raise NotFound(str(exc)) from None
        self.staff.audit(
            actor, "rollback_faq", "faq", faq_id, before=f"v{before.version}", after=f"v{entry.version}",
            detail={"to": version},
        )  # fmt: skip
        return entry

    def withdraw(self, faq_id: str, actor: str) -> FaqEntry:
        before = self.get(faq_id)
        if before.status == FaqStatus.WITHDRAWN:
            raise Conflict(f"FAQ {faq_id!r} is withdrawn already")
        self.store.withdraw_faq(faq_id, actor=actor)
        entry = self.get(faq_id)
        self.staff.audit(
            actor, "withdraw_faq", "faq", faq_id, before=f"v{before.version}", after=f"v{entry.version}"
        )
        return entry

    def withdraw_document(self, doc_id: str, actor: str) -> None:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise NotFound(f"no document with id {doc_id!r}")
        if doc.withdrawn:
            raise Conflict(f"document {doc_id!r} is withdrawn already")
        try:
            self.store.withdraw_document(doc_id, actor=actor)
        except DocumentNotFound as exc:
            raise NotFound(str(exc)) from None
        self.staff.audit(actor, "withdraw_document", "document", doc_id, detail={"title": doc.title})

    def versions(self, faq_id: str) -> list[FaqEntry]:
        self.get(faq_id)
        return self.store.faq_versions(faq_id)

    def list(self, status: FaqStatus | None = None) -> list[FaqEntry]:
        return self.store.list_faqs(status=status)

    def _review(self, faq_id: str, version: int, decision: str, comment: str, actor: str) -> None:
        with self.staff.engine.begin() as conn:
            conn.execute(
                sa.insert(t.reviews).values(
                    faq_id=faq_id, version=version, decision=decision, comment=mask(comment.strip()),
                    reviewer=actor, at=now(),
                )
            )  # fmt: skip

    def latest_review(self, entry: FaqEntry) -> dict[str, Any] | None:
        """The newest review of the entry's current version (a rejection shows on the draft)."""
        query = (
            sa.select(t.reviews.c.decision, t.reviews.c.comment, t.reviews.c.reviewer, t.reviews.c.at)
            .where(t.reviews.c.faq_id == entry.id, t.reviews.c.version == entry.version)
            .order_by(t.reviews.c.id.desc())
            .limit(1)
        )
        with self.staff.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None
