"""Regulation upload: a file is parsed by the loaders into a pending upload (nothing reaches the knowledge
base); a reviewer corrects the metadata and publishes it, or discards it."""

from __future__ import annotations

import re
import secrets
import tempfile
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from knowledge_base.loaders import SUFFIXES, load_file
from knowledge_base.models import Article, DocStatus, Document
from knowledge_base.store import KnowledgeStore
from taxbot.errors import LoaderError
from taxbot.staff import tables as t
from taxbot.staff.accounts import StaffStore, now
from taxbot.staff.errors import Conflict, Invalid, NotFound
from taxbot.staff.schemas import DocumentReview

# the loader's notes start with the field they concern ("文号: not found ...")
NOTE_FIELDS = {
    "文号": "doc_number", "issuer": "issuer", "published": "published", "effective": "effective",
    "doc_type": "doc_type", "tax_types": "tax_types", "status": "status", "region": "region",
}  # fmt: skip
_DATES = ("published", "effective", "expires")


def doc_to_json(doc: Document) -> dict[str, Any]:
    data = asdict(doc)
    for name in _DATES:
        data[name] = data[name].isoformat() if data[name] else None
    data["doc_type"], data["status"] = str(doc.doc_type), str(doc.status)
    return data


def doc_from_json(data: dict[str, Any]) -> Document:
    fields = dict(data)
    for name in _DATES:
        fields[name] = date.fromisoformat(fields[name]) if fields.get(name) else None
    for name in ("doc_number_aliases", "supersedes", "tax_types"):
        fields[name] = tuple(fields.get(name) or ())
    fields["articles"] = tuple(Article(**a) for a in fields.get("articles") or ())
    fields["status"] = DocStatus(fields["status"])
    return Document(**fields)


def undetermined(notes: list[str]) -> dict[str, str]:
    """Form field → the loader's note about it."""
    out: dict[str, str] = {}
    for note in notes:
        head, _, _ = note.partition(":")
        name = NOTE_FIELDS.get(head.strip())
        if name:
            out[name] = note
    return out


def _safe_name(filename: str) -> str:
    name = Path(filename or "upload").name
    return re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", name)[-120:] or "upload"


class Uploads:
    def __init__(self, store: KnowledgeStore, staff: StaffStore, *, max_bytes: int) -> None:
        self.store = store
        self.staff = staff
        self.max_bytes = max_bytes

    def receive(self, filename: str, data: bytes, *, region: str | None, actor: str) -> dict[str, Any]:
        """Parse ``data`` (the file's bytes) into a pending upload; LoaderError → Invalid, nothing saved."""
        name = _safe_name(filename)
        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            shown = suffix or "(无扩展名)"
            raise Invalid(f"不支持的文件类型 {shown}：请上传 DOCX、PDF、HTML、TXT 或 MD 文件")
        if not data:
            raise Invalid(f"{name}: 文件为空")
        if len(data) > self.max_bytes:
            raise Invalid(f"{name}: 文件过大（{len(data)} 字节，上限 {self.max_bytes} 字节）")
        with tempfile.TemporaryDirectory(prefix="taxbot-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            try:
                doc, notes = load_file(path, region=region)
            except LoaderError as exc:
                raise Invalid(f"无法解析文件：{str(exc).replace(str(path), name)}") from None
        doc = replace(doc, source=f"upload:{name}")
        upload_id = secrets.token_hex(8)
        with self.staff.engine.begin() as conn:
            conn.execute(
                sa.insert(t.uploads).values(
                    id=upload_id, filename=name, uploaded_by=actor, at=now(), status="pending",
                    document=doc_to_json(doc), notes=list(notes),
                )
            )  # fmt: skip
        self.staff.audit(
            actor, "upload_document", "upload", upload_id, detail={"file": name, "doc_id": doc.id}
        )
        return self.get(upload_id)

    def get(self, upload_id: str) -> dict[str, Any]:
        with self.staff.engine.connect() as conn:
            row = conn.execute(sa.select(t.uploads).where(t.uploads.c.id == upload_id)).mappings().first()
        if row is None:
            raise NotFound(f"no upload with id {upload_id!r}")
        doc = doc_from_json(row["document"])
        existing = self.store.get_document(doc.id)
        return {
            "id": row["id"], "filename": row["filename"], "uploaded_by": row["uploaded_by"], "at": row["at"],
            "status": row["status"], "document": doc, "notes": list(row["notes"]),
            "undetermined": undetermined(list(row["notes"])), "replaces_existing": existing is not None,
        }  # fmt: skip

    def pending(self) -> list[dict[str, Any]]:
        query = sa.select(t.uploads.c.id).where(t.uploads.c.status == "pending").order_by(t.uploads.c.at)
        with self.staff.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        return [self.get(i) for i in ids]

    def publish(self, upload_id: str, review: DocumentReview, actor: str) -> Document:
        upload = self._pending(upload_id)
        parsed: Document = upload["document"]
        fields = review.model_dump()
        fields["tax_types"] = tuple(fields["tax_types"])
        articles = tuple(replace(a, doc_id=review.id) for a in parsed.articles)
        doc = replace(parsed, **fields, articles=articles)
        corrected = sorted(k for k in fields if getattr(parsed, k) != getattr(doc, k))
        self.store.upsert_documents([doc], actor=actor)
        self._set_status(upload_id, "published")
        self.staff.audit(
            actor, "publish_document", "document", doc.id, before=f"upload:{upload_id}", after=doc.id,
            detail={"title": doc.title, "corrected": corrected},
        )  # fmt: skip
        return doc

    def discard(self, upload_id: str, actor: str) -> None:
        self._pending(upload_id)
        self._set_status(upload_id, "discarded")
        self.staff.audit(actor, "discard_upload", "upload", upload_id)

    def _pending(self, upload_id: str) -> dict[str, Any]:
        upload = self.get(upload_id)
        if upload["status"] != "pending":
            raise Conflict(f"upload {upload_id} is {upload['status']} already")
        return upload

    def _set_status(self, upload_id: str, status: str) -> None:
        with self.staff.engine.begin() as conn:
            conn.execute(sa.update(t.uploads).where(t.uploads.c.id == upload_id).values(status=status))
