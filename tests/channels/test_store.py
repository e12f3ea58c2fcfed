"""The channel tables come from the Alembic migration and survive a new connection."""

from __future__ import annotations

import sqlalchemy as sa

from channels.base import Button
from channels.store import REPLIED, open_channel_store
from knowledge_base import migrations


def test_migration_creates_the_tables_and_downgrades(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    store = open_channel_store(url)
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"channel_inbound", "channel_buttons", "channel_optouts"} <= names
    with store.engine.begin() as connection:
        from alembic import command

        command.downgrade(migrations.alembic_config(connection), "0001")
    assert "channel_inbound" not in set(sa.inspect(store.engine).get_table_names())
    store.close()


def test_dedup_buttons_and_optouts_persist(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    first = open_channel_store(url)
    assert first.claim("wechat", "123") is None
    first.finish("wechat", "123", REPLIED, "答复")
    first.remember_buttons("wechat", "o1", (Button("北京", "/inform"),))
    assert first.opt_out("sms", "+8613800138000") is True
    first.close()

    second = open_channel_store(url)
    seen = second.claim("wechat", "123")
    assert seen is not None and (seen.status, seen.reply) == (REPLIED, "答复")
    assert second.claim("sms", "123") is None  # dedup is per channel
    assert second.offered_buttons("wechat", "o1") == (Button("北京", "/inform"),)
    assert second.opt_out("sms", "+8613800138000") is False
    assert second.opt_in("sms", "+8613800138000") is True and not second.opted_out("sms", "+8613800138000")
    second.close()
