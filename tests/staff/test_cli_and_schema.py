"""`taxbot staff` (the real CLI in a subprocess), session and token expiry, body limits, and the migration."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from knowledge_base.migrations import head_revision
from knowledge_base.store import KnowledgeStore, open_store
from taxbot.staff import tables
from taxbot.staff.accounts import StaffStore
from tests.conftest import REPO_ROOT
from tests.staff.conftest import PASSWORD


def cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAXBOT_")} | {
        "TAXBOT_DATA_DIR": str(data_dir)
    }
    return subprocess.run(
        [sys.executable, "-m", "taxbot.cli_staff", *args], cwd=REPO_ROOT, env=env, input=stdin,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_add_list_disable_enable(tmp_path: Path) -> None:
    added = cli(tmp_path, "add-user", "lead", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "Added lead (admin)" in added.stdout
    duplicate = cli(tmp_path, "add-user", "lead", "--password-stdin", stdin=PASSWORD + "\n")
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr
    weak = cli(tmp_path, "add-user", "weak", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1 and "at least 8" in weak.stderr
    bad_role = cli(tmp_path, "add-user", "x1", "--role", "boss", "--password-stdin", stdin=PASSWORD + "\n")
    assert bad_role.returncode == 2
    assert cli(tmp_path, "disable", "lead").returncode == 0
    listing = cli(tmp_path, "list-users").stdout
    assert "lead" in listing and "admin" in listing and "no" in listing and PASSWORD not in listing
    assert cli(tmp_path, "disable", "ghost").returncode == 1
    assert cli(tmp_path, "enable", "lead").returncode == 0
    store = open_store(f"sqlite:///{tmp_path / 'taxbot.sqlite3'}")
    try:
        accounts = StaffStore(store.engine)
        assert accounts.authenticate("lead", PASSWORD) is not None
        actions = [r["action"] for r in accounts.audit_log()]
        assert actions[:3] == ["enable_user", "disable_user", "add_user"]
    finally:
        store.close()


def test_expired_sessions_and_tokens_are_refused(staff: StaffStore) -> None:
    user = staff.get_user("agent1")
    session_id, _ = staff.create_session(user, timedelta(seconds=-1))
    assert staff.get_session(session_id) is None
    live_id, _ = staff.create_session(user, timedelta(hours=1))
    assert staff.get_session(live_id).user.username == "agent1"
    token, _ = staff.create_token(user, timedelta(seconds=-1))
    assert staff.user_for_token(token) is None


def test_oversized_json_body_is_refused(client: TestClient, agent) -> None:
    body = {"question": "问题问题", "answer": "答" * (1024 * 1024)}
    assert client.post("/api/staff/faqs", json=body, headers=agent).status_code == 413


def test_migration_creates_exactly_the_staff_tables(store: KnowledgeStore) -> None:
    assert head_revision() is not None
    inspector = sa.inspect(store.engine)
    for table in tables.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    with store.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [head_revision()]


def test_migration_downgrades_and_upgrades_again(store: KnowledgeStore) -> None:
    from alembic import command

    from knowledge_base.migrations import alembic_config

    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0200")
    staff_tables = {t.name for t in tables.metadata.sorted_tables}
    assert not staff_tables & set(sa.inspect(store.engine).get_table_names())
    store.migrate()
    assert staff_tables <= set(sa.inspect(store.engine).get_table_names())
