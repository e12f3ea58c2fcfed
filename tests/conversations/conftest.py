"""A real conversation store on SQLite *and* PostgreSQL (a fresh database per session, a schema per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taxbot.conversations import ConversationStore, open_conversation_store
from tests.conftest import new_pg_schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.sqlite3'}"
    base = request.getfixturevalue("pg_database")
    return new_pg_schema(base)


@pytest.fixture
def store(store_url: str) -> Iterator[ConversationStore]:
    conversations = open_conversation_store(store_url)
    try:
        yield conversations
    finally:
        conversations.close()
