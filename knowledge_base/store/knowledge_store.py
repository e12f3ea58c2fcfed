"""The knowledge store: documents, articles and curated FAQ entries in SQLite or PostgreSQL.

Every write goes through here and leaves a trace: a ``changes`` row (what the index must catch up
on, ordered by ``seq``) and an ``audit`` row (who did what). Withdrawals are soft; FAQ entries keep
every version so an operator can roll back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from knowledge_base.migrations import upgrade
from knowledge_base.models import Document, FaqEntry, FaqStatus
from knowledge_base.store import schema as t
from knowledge_base.store.codec import (
    Change,
    article_row,
    document_from_row,
    document_hash,
    document_row,
    faq_content,
    faq_from_row,
    utc,
)
from taxbot.errors import ConfigError, DocumentNotFound, KnowledgeBaseError


class FaqNotFound(DocumentNotFound):
    """No FAQ entry (or no such version of it) in the store."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _now() -> datetime:
    return datetime.now(UTC)


class KnowledgeStore:
    def __init__(self, url: str):
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
        if parsed.drivername in ("postgresql", "postgres"):  # the psycopg 3 driver is the one installed
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed.render_as_string(hide_password=True)
        kwargs: dict = {}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine = sa.create_engine(parsed, pool_pre_ping=True, **kwargs)  # survives a server restart
        if parsed.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    # -- lifecycle ---------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest migration (alembic upgrade head)."""
        try:
            upgrade(self.engine)
        except sa.exc.OperationalError as exc:
            raise KnowledgeBaseError(f"cannot open the knowledge store at {self.url}: {exc.orig}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- documents ---------------------------------------------------------------------------------
    def upsert_documents(self, docs: Iterable[Document], *, actor: str = "system") -> int:
        """Write new or changed documents; returns how many changed.

        An unchanged document (same metadata and articles) is left alone, withdrawn or not; a
        changed one is written as given, including its ``withdrawn`` flag.
        """
        changed = 0
        with self.engine.begin() as conn:
            for doc in docs:
                strays = sorted({a.doc_id for a in doc.articles if a.doc_id != doc.id})
                if strays:
                    raise KnowledgeBaseError(
                        f"document {doc.id!r} holds articles of other documents: {strays}"
                    )
                digest = document_hash(doc)
                old = conn.execute(
                    sa.select(t.documents.c.content_hash).where(t.documents.c.id == doc.id)
                ).scalar_one_or_none()
                if old == digest:
                    continue
                now = _now()
                conn.execute(sa.delete(t.articles).where(t.articles.c.doc_id == doc.id))
                if old is None:
                    conn.execute(
                        sa.insert(t.documents).values(document_row(doc, content_hash=digest, updated_at=now))
                    )
                else:
                    row = document_row(doc, content_hash=digest, updated_at=now)
                    row.pop("id")
                    conn.execute(sa.update(t.documents).where(t.documents.c.id == doc.id).values(row))
                if doc.articles:
                    conn.execute(sa.insert(t.articles), [article_row(a) for a in doc.articles])
                detail = {"title": doc.title, "articles": len(doc.articles), "new": old is None}
                self._log(conn, "document", doc.id, "upsert", actor, now, detail)
                changed += 1
        return changed

    def get_document(self, doc_id: str) -> Document | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.documents).where(t.documents.c.id == doc_id)).mappings().first()
            if row is None:
                return None
            arts = conn.execute(sa.select(t.articles).where(t.articles.c.doc_id == doc_id)).mappings().all()
            return document_from_row(row, list(arts))

    def list_documents(self, *, include_withdrawn: bool = False) -> list[Document]:
        query = sa.select(t.documents).order_by(t.documents.c.id)
        if not include_withdrawn:
            query = query.where(t.documents.c.withdrawn.is_(False))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            by_doc: dict[str, list] = {row["id"]: [] for row in rows}
            for art in conn.execute(sa.select(t.articles)).mappings():
                if art["doc_id"] in by_doc:
                    by_doc[art["doc_id"]].append(art)
        return [document_from_row(row, by_doc[row["id"]]) for row in rows]

    def withdraw_document(self, doc_id: str, *, actor: str = "system") -> None:
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.update(t.documents)
                .where(t.documents.c.id == doc_id)
                .values(withdrawn=True, updated_at=_now())
            ).rowcount
            if not found:
                raise DocumentNotFound(f"no document with id {doc_id!r} in the knowledge store")
            self._log(conn, "document", doc_id, "withdraw", actor, _now(), {})

    # -- FAQ -------------------------------------------------------------------------------------
    def upsert_faq(self, entry: FaqEntry, *, actor: str = "system") -> FaqEntry:
        """Store ``entry``; a changed entry becomes a new version, an unchanged one is returned as is."""
        with self.engine.begin() as conn:
            current = self._current_faq(conn, entry.id)
            if current is not None and faq_content(current) == faq_content(entry):
                return current
            return self._write_faq_version(conn, entry.id, faq_content(entry), actor, "upsert")

    def get_faq(self, faq_id: str) -> FaqEntry | None:
        with self.engine.connect() as conn:
            return self._current_faq(conn, faq_id)

    def list_faqs(self, *, status: FaqStatus | None = None) -> list[FaqEntry]:
        query = sa.select(t.faqs).order_by(t.faqs.c.id)
        if status is not None:
            query = query.where(t.faqs.c.status == str(status))
        with self.engine.connect() as conn:
            return [faq_from_row(row) for row in conn.execute(query).mappings()]

    def faq_versions(self, faq_id: str) -> list[FaqEntry]:
        query = (
            sa.select(t.faq_versions)
            .where(t.faq_versions.c.faq_id == faq_id)
            .order_by(t.faq_versions.c.version)
        )
        with self.engine.connect() as conn:
            return [faq_from_row(row, faq_id=faq_id) for row in conn.execute(query).mappings()]

    def rollback_faq(self, faq_id: str, version: int, *, actor: str = "system") -> FaqEntry:
        """Make the content of ``version`` current again, as a new version (history is never rewritten)."""
        with self.engine.begin() as conn:
            if self._current_faq(conn, faq_id) is None:
                raise FaqNotFound(f"no FAQ entry with id {faq_id!r} in the knowledge store")
            row = (
                conn.execute(
                    sa.select(t.faq_versions).where(
                        t.faq_versions.c.faq_id == faq_id, t.faq_versions.c.version == version
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise FaqNotFound(f"FAQ entry {faq_id!r} has no version {version!r}")
            content = faq_content(faq_from_row(row, faq_id=faq_id))
            return self._write_faq_version(conn, faq_id, content, actor, "upsert", rollback_to=version)

    def withdraw_faq(self, faq_id: str, *, actor: str = "system") -> None:
        with self.engine.begin() as conn:
            current = self._current_faq(conn, faq_id)
            if current is None:
                raise FaqNotFound(f"no FAQ entry with id {faq_id!r} in the knowledge store")
            content = {**faq_content(current), "status": str(FaqStatus.WITHDRAWN)}
            self._write_faq_version(conn, faq_id, content, actor, "withdraw")

    def _current_faq(self, conn: sa.Connection, faq_id: str) -> FaqEntry | None:
        row = conn.execute(sa.select(t.faqs).where(t.faqs.c.id == faq_id)).mappings().first()
        return faq_from_row(row) if row else None

    def _write_faq_version(
        self,
        conn: sa.Connection,
        faq_id: str,
        content: dict,
        actor: str,
        op: str,
        rollback_to: int | None = None,
    ) -> FaqEntry:
        latest = conn.execute(
            sa.select(sa.func.max(t.faq_versions.c.version)).where(t.faq_versions.c.faq_id == faq_id)
        ).scalar()
        version = (latest or 0) + 1
        now = _now()
        conn.execute(
            sa.insert(t.faq_versions).values(
                faq_id=faq_id, version=version, actor=actor, updated_at=now, **content
            )
        )
        row = {**content, "version": version, "updated_at": now}
        if latest is None:
            conn.execute(sa.insert(t.faqs).values(id=faq_id, **row))
        else:
            conn.execute(sa.update(t.faqs).where(t.faqs.c.id == faq_id).values(row))
        detail: dict = {"version": version}
        if rollback_to is not None:
            detail["rollback_to"] = rollback_to
        self._log(conn, "faq", faq_id, op, actor, now, detail)
        entry = self._current_faq(conn, faq_id)
        assert entry is not None
        return entry

    # -- change log, audit, meta -------------------------------------------------------------------
    def _log(
        self, conn: sa.Connection, kind: str, key: str, op: str, actor: str, at: datetime, detail: dict
    ) -> None:
        conn.execute(sa.insert(t.changes).values(kind=kind, key=key, op=op, actor=actor, at=at))
        action = "rollback" if "rollback_to" in detail else op
        conn.execute(
            sa.insert(t.audit).values(
                at=at, actor=actor, action=action, kind=kind, key=key,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )  # fmt: skip

    def changes_since(self, seq: int) -> list[Change]:
        query = sa.select(t.changes).where(t.changes.c.seq > seq).order_by(t.changes.c.seq)
        with self.engine.connect() as conn:
            return [
                Change(
                    seq=r["seq"], kind=r["kind"], key=r["key"], op=r["op"], actor=r["actor"], at=utc(r["at"])
                )
                for r in conn.execute(query).mappings()
            ]

    def last_change_seq(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(t.changes.c.seq))).scalar() or 0

    def audit_log(self, *, kind: str | None = None, key: str | None = None) -> list[dict]:
        """Audit rows, oldest first: at, actor, action, kind, key, detail (a dict)."""
        query = sa.select(t.audit).order_by(t.audit.c.id)
        if kind is not None:
            query = query.where(t.audit.c.kind == kind)
        if key is not None:
            query = query.where(t.audit.c.key == key)
        with self.engine.connect() as conn:
            return [
                {**row, "at": utc(row["at"]), "detail": json.loads(row["detail"] or "{}")}
                for row in conn.execute(query).mappings()
            ]

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == key)).scalar_one_or_none()

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(sa.update(t.meta).where(t.meta.c.key == key).values(value=value)).rowcount
            if not updated:
                conn.execute(sa.insert(t.meta).values(key=key, value=value))


def open_store(url: str) -> KnowledgeStore:
    """A migrated store at ``url``; for SQLite the file's folder is created first."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    store = KnowledgeStore(url)
    store.migrate()
    return store
