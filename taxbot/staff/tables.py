"""Tables of the staff console (SQLAlchemy Core); migration 0300_staff creates exactly these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # sha256 of the cookie's session id
    sa.Column("user_id", sa.Integer, sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

tokens = sa.Table(
    "staff_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # sha256 of the bearer token
    sa.Column("user_id", sa.Integer, sa.ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

audit = sa.Table(
    "staff_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("before", sa.String(64), nullable=False, default=""),  # e.g. the FAQ version before
    sa.Column("after", sa.String(64), nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

reviews = sa.Table(
    "staff_faq_reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("faq_id", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),  # approved / rejected
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("reviewer", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

uploads = sa.Table(
    "staff_uploads",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending / published / discarded
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("notes", sa.JSON, nullable=False),
)

sa.Index("ix_staff_audit_at", audit.c.at)
sa.Index("ix_staff_faq_reviews_faq", reviews.c.faq_id, reviews.c.version)
