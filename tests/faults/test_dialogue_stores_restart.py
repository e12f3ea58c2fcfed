"""Rasa's own stores restarted under the real product: `taxbot serve` with the app's database and Rasa's
tracker store (SQLTrackerStore) on a private PostgreSQL and Rasa's lock store on a private Redis
(tests/faults/conftest.py). A taxpayer keeps chatting through the web API while a server is stopped and
started; each case asserts what the taxpayer saw, that every accepted message was answered exactly once
(the widget's poll, the pending queue) and kept once, in order, in Rasa's tracker, and that no operator
was needed (nothing is restarted but the server under test).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from taxbot.conversations.replay import QUEUED
from taxbot.supervisor import log_tail
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import READY_TIMEOUT, _stop, _wait_ready, clean_env, free_port, taxbot
from tests.faults.conftest import PrivatePostgres, PrivateRedis
from tests.privacy_plugin import scan_tree

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

RECOVERY = 300.0  # seconds: bound for an answer after the server is back (replay backoff, a busy machine)
PUSHED = "关于您之前的问题“"  # how a replayed answer begins (taxbot/conversations/replay.py ANSWER)


@dataclass
class Product:
    base_url: str
    rasa_url: str
    data_dir: Path
    postgres: PrivatePostgres
    redis: PrivateRedis
    app_dsn: str
    process: subprocess.Popen

    def logs(self) -> str:
        parts = [f"--- taxbot serve ---\n{log_tail(self.data_dir / 'serve.log')}"]
        for name in ("app.log", "rasa.log"):
            parts.append(f"--- {name} ---\n{log_tail(self.data_dir / 'logs' / name, 40)}")
        return "\n".join(parts)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[PrivatePostgres, PrivateRedis]]:
    postgres, redis = PrivatePostgres(), PrivateRedis()
    try:
        postgres.start()
        redis.start()
        with psycopg.connect(dsn(postgres, "postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE taxbot")
            admin.execute("CREATE DATABASE rasa")
        yield postgres, redis
    finally:
        redis.stop()
        postgres.destroy()


def dsn(postgres: PrivatePostgres, db: str) -> str:
    return f"host=127.0.0.1 port={postgres.port} user=postgres dbname={db} connect_timeout=5"


@pytest.fixture(scope="module")
def product(servers, pytestconfig) -> Iterator[Product]:
    postgres, redis = servers
    taxbot("train-bot", env=clean_env())  # a no-op when the model for bot/ exists
    data_dir = Path(tempfile.mkdtemp(prefix="taxbot-faults-stores-"))
    env = clean_env(
        TAXBOT_DATA_DIR=str(data_dir), TAXBOT_PORT=str(free_port()), TAXBOT_RASA_PORT=str(free_port()),
        TAXBOT_LOG_LEVEL="INFO",
        TAXBOT_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/taxbot",
        TAXBOT_TRACKER_STORE_URL=f"postgresql://postgres@127.0.0.1:{postgres.port}/rasa",
        TAXBOT_LOCK_STORE_URL=redis.url,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{env['TAXBOT_PORT']}"
    serve_log = data_dir / "serve.log"
    process = None
    try:
        taxbot("kb", "init", "--data-dir", str(data_dir), env=env)
        with serve_log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "taxbot.cli", "serve", "--timeout", str(READY_TIMEOUT)],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait_ready(process, base_url, data_dir, serve_log)
        yield Product(
            base_url=base_url, rasa_url=f"http://127.0.0.1:{env['TAXBOT_RASA_PORT']}", data_dir=data_dir,
            postgres=postgres, redis=redis, app_dsn=dsn(postgres, "taxbot"), process=process,
        )  # fmt: skip
    finally:
        if process is not None:
            _stop(process)
        scan_tree(pytestconfig, data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


# --- the taxpayer's side ------------------------------------------------------------------------------


def say(product: Product, sender: str, message: str) -> list[dict]:
    """POST /api/chat as the widget does; any 5xx (or other non-200) fails with the logs."""
    response = httpx.post(
        f"{product.base_url}/api/chat", json={"sender": sender, "message": message}, timeout=120
    )
    assert response.status_code == 200, (
        f"{message!r}: HTTP {response.status_code} {response.text}\n{product.logs()}"
    )
    return response.json()


def kind(replies: list[dict]) -> str:
    """The reply's answer kind; ``(no reply)`` for an empty list (what the taxpayer would see: nothing)."""
    kinds = [r["custom"].get("answer_kind", "") for r in replies if isinstance(r.get("custom"), dict)]
    if kinds:
        return kinds[-1]
    return "utterance" if any(r.get("text") for r in replies) else "(no reply)"


def text(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


def assert_answered(product: Product, message: str, replies: list[dict]) -> None:
    assert kind(replies) not in ("queued", "unavailable", "(no reply)") and text(replies), (
        f"{message!r} was not answered: {replies}\n{product.logs()}"
    )


def pushed(product: Product, sender: str) -> list[str]:
    """The bot messages pushed into the conversation (the widget's poll)."""
    response = httpx.get(f"{product.base_url}/api/chat/{sender}/messages", timeout=60)
    assert response.status_code == 200, f"poll: HTTP {response.status_code} {response.text}\n{product.logs()}"
    return [m["text"] for m in response.json()["messages"] if m["role"] == "bot"]


def pending(product: Product, sender: str) -> list[tuple[str, str]]:
    """(text, status) of the conversation's queued messages, oldest first."""
    with psycopg.connect(product.app_dsn) as conn:
        rows = conn.execute(
            "SELECT text, status FROM pending_messages WHERE conversation_id = %s ORDER BY id", (sender,)
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def tracker_messages(product: Product, sender: str) -> list[str]:
    """The user messages in Rasa's tracker (GET /conversations/{sender}/tracker), in order."""
    response = httpx.get(f"{product.rasa_url}/conversations/{sender}/tracker", timeout=60)
    assert response.status_code == 200, f"tracker: HTTP {response.status_code}\n{product.logs()}"
    return [e["text"] for e in response.json()["events"] if e["event"] == "user"]


def stored_messages(product: Product, sender: str) -> list[str]:
    """The user messages Rasa's SQLTrackerStore keeps in PostgreSQL (not its in-memory fallback)."""
    with psycopg.connect(dsn(product.postgres, "rasa")) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", (sender,)
        ).fetchall()
    return [json.loads(row[0])["text"] for row in rows]


def wait_for(product: Product, condition: Callable[[], bool], what: Callable[[], str]) -> None:
    """Poll as the widget does; ``what()`` describes the state when it fails."""
    deadline = time.monotonic() + RECOVERY
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {RECOVERY:.0f} s: {what()}\n{product.logs()}")
        time.sleep(1)


def sender_id(case: str) -> str:
    return f"web-fault-{case}-{uuid.uuid4().hex[:8]}"


# --- the cases ----------------------------------------------------------------------------------------


def test_redis_lock_store_stopped_mid_conversation(product):
    """Rasa cannot take the conversation's lock: the turn fails inside Rasa, the app queues the message
    and says so; with Redis back (same port, empty) the replay worker answers it once, by itself."""
    sender = sender_id("redis")
    first, during, after = "小规模纳税人增值税征收率是多少", "个税起征点是多少", "谢谢"
    assert_answered(product, first, say(product, sender, first))

    product.redis.stop()
    try:
        replies = say(product, sender, during)  # no 5xx (say checks the status)
    finally:
        product.redis.start()
    assert kind(replies) == "queued" and QUEUED in text(replies), (
        f"Redis down: expected the queued notice, got {replies}\n{product.logs()}"
    )

    def replayed() -> bool:
        return [status for _, status in pending(product, sender)] == ["answered"]

    wait_for(
        product,
        replayed,
        lambda: f"the queued message answered after Redis came back; queue: {pending(product, sender)}",
    )
    answers = pushed(product, sender)
    assert len(answers) == 1 and answers[0].startswith(f"{PUSHED}{during}”"), (
        f"expected exactly one pushed answer to {during!r}, got {answers}\n{product.logs()}"
    )
    assert "12366纳税缴费服务热线咨询" not in answers[0], f"gave up instead of answering: {answers[0]}"

    assert_answered(product, after, say(product, sender, after))  # the conversation goes on, not queued
    assert pending(product, sender) == [(during, "answered")]
    assert tracker_messages(product, sender) == [first, during, after], product.logs()
    assert stored_messages(product, sender) == [first, during, after]
    assert product.process.poll() is None, f"`taxbot serve` exited:\n{product.logs()}"  # no operator


def test_postgres_restarted_and_down(product):
    """Both the app's database and Rasa's tracker store on one server. Restarted between two messages:
    the next turn is answered at once and kept (pooled connections are pre-pinged on both sides). Down:
    Rasa answers from its fail-safe in-memory tracker (not persisted, see the assertion), the widget's poll
    gets a friendly 503, and once the server is back the conversation goes on without an operator."""
    sender = sender_id("pg")
    first, after_restart = "小规模纳税人增值税征收率是多少", "个税起征点是多少"
    during, last = "个人所得税综合所得的费用扣除是多少", "谢谢"
    assert_answered(product, first, say(product, sender, first))

    product.postgres.restart()  # every pooled connection, the app's and Rasa's, is now dead
    assert_answered(product, after_restart, say(product, sender, after_restart))
    assert tracker_messages(product, sender) == [first, after_restart], (
        f"the first turn after the restart is missing from Rasa's tracker\n{product.logs()}"
    )

    product.postgres.stop()
    try:
        replies = say(product, sender, during)  # no 5xx (say checks the status)
        poll = httpx.get(f"{product.base_url}/api/chat/{sender}/messages", timeout=60)
    finally:
        product.postgres.start()
    # Rasa's FailSafeTrackerStore answers from a fresh in-memory tracker; were the answer withheld, the app
    # could not queue the message (its queue is on this server too) and would ask to retry
    outcome = kind(replies)
    retry = outcome == "unavailable" and replies[-1]["custom"].get("retry") is True
    assert retry or outcome not in ("queued", "unavailable", "(no reply)"), (
        f"PostgreSQL down: expected an answer or a request to retry, got {replies}\n{product.logs()}"
    )
    assert poll.status_code == 503 and "12366" in poll.json()["detail"], f"poll while down: {poll.text}"

    expected = [first, after_restart]
    if retry:  # the taxpayer does as told once the server is back
        assert_answered(product, during, say(product, sender, during))
        expected.append(during)
    assert_answered(product, last, say(product, sender, last))
    expected.append(last)
    # a turn answered while the tracker store was down lives only in Rasa's memory: not in PostgreSQL
    assert tracker_messages(product, sender) == expected, product.logs()
    assert stored_messages(product, sender) == expected
    assert pending(product, sender) == [] and pushed(product, sender) == []  # nothing waiting, nothing stray
    assert product.process.poll() is None, f"`taxbot serve` exited:\n{product.logs()}"  # no operator
