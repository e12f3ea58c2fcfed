"""The knowledge store (SQLite or PostgreSQL through SQLAlchemy; schema by Alembic migrations)."""

from knowledge_base.store.codec import Change
from knowledge_base.store.knowledge_store import FaqNotFound, KnowledgeStore, open_store

__all__ = ["Change", "FaqNotFound", "KnowledgeStore", "open_store"]
