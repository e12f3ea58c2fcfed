"""Tables of the knowledge store (SQLAlchemy Core). The Alembic migrations create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

_text = sa.Text()

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("title", _text, nullable=False),
    sa.Column("doc_number", _text, nullable=False, default=""),
    sa.Column("doc_number_aliases", sa.JSON, nullable=False, default=list),
    sa.Column("issuer", _text, nullable=False, default=""),
    sa.Column("doc_type", sa.String(40), nullable=False),
    sa.Column("region", sa.String(40), nullable=False),
    sa.Column("published", sa.Date, nullable=True),
    sa.Column("effective", sa.Date, nullable=True),
    sa.Column("expires", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("status_note", _text, nullable=False, default=""),
    sa.Column("superseded_by", sa.String(200), nullable=False, default=""),
    sa.Column("supersedes", sa.JSON, nullable=False, default=list),
    sa.Column("tax_types", sa.JSON, nullable=False, default=list),
    sa.Column("source", _text, nullable=False, default=""),
    sa.Column("withdrawn", sa.Boolean, nullable=False, default=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("doc_id", sa.String(200), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("chapter", _text, nullable=False, default=""),
    sa.Column("section", _text, nullable=False, default=""),
    sa.Column("text", _text, nullable=False),
)


def _faq_columns() -> list[sa.Column]:
    return [
        sa.Column("question", _text, nullable=False),
        sa.Column("answer", _text, nullable=False),
        sa.Column("similar_questions", sa.JSON, nullable=False, default=list),
        sa.Column("citations", sa.JSON, nullable=False, default=list),
        sa.Column("region", sa.String(40), nullable=False),
        sa.Column("tax_types", sa.JSON, nullable=False, default=list),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


faqs = sa.Table(
    "faqs",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    *_faq_columns(),
)

faq_versions = sa.Table(
    "faq_versions",
    metadata,
    sa.Column("faq_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    *_faq_columns(),
    sa.Column("actor", sa.String(200), nullable=False),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("op", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("detail", _text, nullable=False, default=""),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", _text, nullable=False),
)

sa.Index("ix_documents_region", documents.c.region)
sa.Index("ix_audit_key", audit.c.kind, audit.c.key)
