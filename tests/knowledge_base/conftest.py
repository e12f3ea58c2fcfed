"""Knowledge-base fixtures: the corpus, and a real store on SQLite *and* PostgreSQL for every store test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge_base.store import KnowledgeStore, open_store
from tests.conftest import new_pg_schema


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    return shared_dir / "corpus"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh schema in the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'kb.sqlite3'}"
        return
    base = request.getfixturevalue("pg_database")
    yield new_pg_schema(base)


@pytest.fixture
def store(store_url: str) -> Iterator[KnowledgeStore]:
    kb = open_store(store_url)
    try:
        yield kb
    finally:
        kb.close()
