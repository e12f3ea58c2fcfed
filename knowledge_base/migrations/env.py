"""Alembic environment: the caller hands over an open connection (see knowledge_base.migrations)."""

from __future__ import annotations

from alembic import context

from knowledge_base.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the knowledge store migrations through knowledge_base.migrations.upgrade(engine)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
