"""Alembic migrations of the knowledge store, run from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` to ``revision`` (default: the newest)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def migrated_engine(database_url: str) -> sa.Engine:
    """An engine on ``database_url`` (psycopg 3 for PostgreSQL; SQLite shared across threads, waiting up to
    30 s on a lock), its schema brought up to date — every migration head. The stores beside the knowledge
    store (conversations, subscriptions) open their database through this."""
    url = sa.make_url(database_url)
    kwargs: dict = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.drivername in ("postgresql", "postgres"):  # the psycopg 3 driver is the one installed
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)  # a restarted server: no stale connections
    upgrade(engine, "heads")
    return engine


def head_revision() -> str | None:
    """The newest revision in ``versions/`` (other parts of the app may add their own tables there)."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
