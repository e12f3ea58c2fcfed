"""Rasa's tracker and lock stores as `taxbot serve` configures them: the generated endpoints file, and a
real `rasa run` keeping its trackers in PostgreSQL with a Redis lock store."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from taxbot.bot_model import rasa_env, rasa_executable
from taxbot.errors import ConfigError
from taxbot.settings import Settings
from taxbot.supervisor import log_tail, write_rasa_config
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import free_port

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"


def endpoints(tmp_path: Path, **settings: str) -> dict:
    path, _ = write_rasa_config(Settings(data_dir=tmp_path, **settings))
    return yaml.safe_load(path.read_text())


def test_default_tracker_store_is_sqlite_in_the_data_dir_and_no_lock_store(tmp_path):
    config = endpoints(tmp_path, port="8123")
    assert config["action_endpoint"] == {"url": "http://127.0.0.1:8123/webhook"}
    assert config["tracker_store"] == {
        "type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "run" / "rasa-trackers.db"),
    }  # fmt: skip
    assert "lock_store" not in config


def test_postgresql_tracker_store_and_redis_lock_store(tmp_path):
    config = endpoints(
        tmp_path, tracker_store_url="postgresql+psycopg://bot:s3cret@db.internal:5433/rasa",
        lock_store_url="redis://:pw@cache.internal:6380/2",
    )  # fmt: skip
    assert config["tracker_store"] == {
        "type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5433, "db": "rasa",
        "username": "bot", "password": "s3cret",
    }  # fmt: skip
    assert config["lock_store"] == {
        "type": "redis", "url": "cache.internal", "port": 6380, "db": 2, "key_prefix": "taxbot",
        "password": "pw",
    }  # fmt: skip
    assert (tmp_path / "run" / "endpoints.yml").stat().st_mode & 0o077 == 0  # passwords inside


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("tracker_store_url", "mysql://x/y", "not supported"), ("lock_store_url", "http://x", "redis://")],
)
def test_bad_store_urls_fail_with_the_value(tmp_path, field, value, message):
    with pytest.raises(ConfigError, match=message):
        endpoints(tmp_path, **{field: value})


@pytest.fixture
def pg_tracker_db():
    name = f"taxbot_rasa_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.e2e
@pytest.mark.postgres
def test_rasa_keeps_its_trackers_in_postgresql_with_a_redis_lock_store(rasa_model, tmp_path, pg_tracker_db):
    settings = Settings(
        data_dir=tmp_path, rasa_port=free_port(), port=free_port(),
        tracker_store_url=f"postgresql://postgres@127.0.0.1:5432/{pg_tracker_db}",
        lock_store_url="redis://127.0.0.1:6379/0",
    )  # fmt: skip
    endpoints_file, credentials = write_rasa_config(settings)
    log = tmp_path / "rasa.log"
    argv = [
        str(rasa_executable(settings)), "run", "--enable-api", "--model", str(rasa_model),
        "--endpoints", str(endpoints_file), "--credentials", str(credentials),
        "--port", str(settings.rasa_port), "-i", "127.0.0.1",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=rasa_env(settings), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{settings.rasa_port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, f"rasa run exited:\n{log_tail(log)}"
            try:
                if httpx.get(f"{base}/status", timeout=2).json().get("model_file"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, f"rasa run not ready:\n{log_tail(log)}"
            time.sleep(1)
        sender = f"pg-{uuid.uuid4().hex[:8]}"
        replies = httpx.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": "谢谢"},
                             timeout=60).json()  # fmt: skip
        assert "不客气" in replies[0]["text"]
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={pg_tracker_db}") as conn:
            count = conn.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,)).fetchone()[0]
        assert count >= 3  # session start, the user message, the bot's utterance ...
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
