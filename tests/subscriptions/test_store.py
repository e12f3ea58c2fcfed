"""Revision 0700 against the store's table definitions, on SQLite and PostgreSQL, and its downgrade."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from knowledge_base.migrations import alembic_config
from knowledge_base.store import KnowledgeStore
from taxbot.subscriptions.store import metadata


def test_the_migration_matches_the_table_definitions(store: KnowledgeStore) -> None:
    def ours(name: str | None, type_: str, parent: dict) -> bool:  # other tables share the chain
        return type_ != "table" or name in metadata.tables

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), metadata)
    assert diff == []


def test_the_migration_downgrades_and_upgrades_again(store: KnowledgeStore) -> None:
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0600")
    assert not set(metadata.tables) & set(sa.inspect(store.engine).get_table_names())
    store.migrate()
    assert set(metadata.tables) <= set(sa.inspect(store.engine).get_table_names())
