"""Scaled mode for real: `taxbot serve-scaled --apps 2 --rasas 2` on a fresh PostgreSQL database and a Redis
db, behind the real nginx, on free ports (the session's `scaled` fixture, tests/e2e/scaled_stack.py; its
SIGTERM at the end of the session stops the whole tree, which is checked)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from taxbot.scaled import ATOMIC_LOCK_STORE, RASA_PATH, Layout, nginx_process
from taxbot.settings import Settings
from taxbot.supervisor import log_tail
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import clean_env, free_port
from tests.e2e.scaled_stack import ADMIN, PASSWORD, QUESTIONS, REDIS_URL

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def texts(replies: list[dict]) -> list[str]:
    return [reply["text"] for reply in replies if reply.get("text")]


async def _post_all(url: str, bodies: list[dict], stagger: float = 0.0) -> list[httpx.Response]:
    async def post(client: httpx.AsyncClient, index: int, body: dict) -> httpx.Response:
        await asyncio.sleep(index * stagger)
        return await client.post(url, json=body)

    async with httpx.AsyncClient(timeout=120) as client:
        return await asyncio.gather(*(post(client, i, body) for i, body in enumerate(bodies)))


def test_parallel_conversations_get_answers_from_both_app_replicas(scaled):
    senders = [f"par-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    for turn in range(2):
        bodies = [{"sender": s, "message": QUESTIONS[(i + turn) % 6]} for i, s in enumerate(senders)]
        responses = asyncio.run(_post_all(f"{scaled.base_url}/api/chat", bodies))
        assert [r.status_code for r in responses] == [200] * len(senders)
        assert all(texts(r.json()) for r in responses)
        served_by = {r.headers["x-taxbot-upstream"].rsplit(":", 1)[1] for r in responses}
        assert served_by == {str(p) for p in scaled.layout["app_ports"]}
    assert httpx.post(f"{scaled.base_url}/webhook", json={}).status_code == 404  # internal only


def test_rapid_messages_of_one_conversation_are_answered_in_order(scaled):
    chat = f"{scaled.base_url}/api/chat"
    expected = {}
    with httpx.Client(timeout=120) as client:  # each question's answer in a conversation of its own
        for question in QUESTIONS:
            response = client.post(chat, json={"sender": f"ref-{uuid.uuid4().hex}", "message": question})
            expected[question] = texts(response.json())
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    responses = asyncio.run(_post_all(chat, [{"sender": sender, "message": q} for q in QUESTIONS], 0.03))
    for question, response in zip(QUESTIONS, responses, strict=True):
        assert texts(response.json()) == expected[question], question  # each reply is its message's
    events = httpx.get(f"{scaled.rasa_url}/conversations/{sender}/tracker", timeout=30).json()["events"]
    turns: list[tuple[str, list[str]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event["text"], []))
        elif event["event"] == "bot" and event.get("text"):
            assert turns, "a bot utterance before any user message"
            turns[-1][1].append(event["text"])
    # the Redis lock store let one message through at a time: every message once, followed by its answer
    assert sorted(text for text, _ in turns) == sorted(QUESTIONS)
    assert all(answer == expected[text] for text, answer in turns)
    # the turns went through both Rasa replicas, and Rasa's action calls to both app replicas
    assert scaled.upstreams("nginx-rasa.log") >= {str(p) for p in scaled.layout["rasa_ports"]}
    assert scaled.upstreams("nginx-actions.log") == {str(p) for p in scaled.layout["app_ports"]}


def _wait_searchable(port: int, question: str, answer: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(f"http://127.0.0.1:{port}/api/kb/search", params={"q": question}, timeout=30).json()
        if any(hit["text"] == answer for hit in body["hits"]):
            return
        assert time.monotonic() < deadline, f"app replica on {port} does not find the new FAQ: {body}"
        time.sleep(0.5)


def _current_manifest(data_dir: Path) -> dict:
    current = (data_dir / "index" / "CURRENT").read_text().strip()
    return json.loads((data_dir / "index" / current / "manifest.json").read_text())


def test_a_published_faq_is_answered_by_every_replica_and_after_a_restart(scaled):
    token = httpx.post(f"{scaled.base_url}/api/staff/tokens", json={"username": ADMIN, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    question = "蓝鲸积分纳税人兑换礼品怎么办理"
    answer = f"蓝鲸积分请在电子税务局兑换（{uuid.uuid4().hex[:6]}）。"
    faq = {"question": question, "answer": answer, "similar_questions": ["蓝鲸积分怎么兑换"]}
    draft = httpx.post(f"{scaled.base_url}/api/staff/faqs", headers=headers, timeout=30, json=faq)
    assert draft.status_code == 201, draft.text
    approved = httpx.post(f"{scaled.base_url}/api/staff/faqs/{draft.json()['id']}/approve", headers=headers,
                          json={"comment": "扩展模式测试"}, timeout=30)  # fmt: skip
    assert approved.status_code == 200, approved.text
    app_ports = scaled.layout["app_ports"]
    faqs_before = _current_manifest(scaled.data_dir)["counts"]["faqs"]
    for port in app_ports:  # each replica's index follows the PostgreSQL change log
        _wait_searchable(port, question, answer)
    seen: set[str] = set()
    for _ in range(6):
        body = {"sender": f"faq-{uuid.uuid4().hex[:8]}", "message": question}
        response = httpx.post(f"{scaled.base_url}/api/chat", timeout=60, json=body)
        assert answer in "".join(texts(response.json()))
        seen.add(response.headers["x-taxbot-upstream"].rsplit(":", 1)[1])
    assert seen == {str(p) for p in app_ports}

    # App 1 dies: serve-scaled restarts it, and it serves the published index version with the FAQ
    old_pid = scaled.layout["pids"]["App 1"]
    os.killpg(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 300
    while scaled.layout["pids"]["App 1"] == old_pid:
        assert time.monotonic() < deadline, "App 1 was not restarted"
        time.sleep(1)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{app_ports[0]}/readyz", timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        app_log = log_tail(scaled.data_dir / "logs" / "app-1.log")
        assert time.monotonic() < deadline, f"restarted App 1 not ready:\n{app_log}"
        time.sleep(1)
    _wait_searchable(app_ports[0], question, answer, timeout=5)
    assert _current_manifest(scaled.data_dir)["counts"]["faqs"] == faqs_before + 1  # the published version


def test_scaled_mode_refuses_sqlite_and_a_missing_nginx(rasa_model, tmp_path):
    cli = [sys.executable, "-m", "taxbot.cli", "serve-scaled"]
    env = clean_env(TAXBOT_DATA_DIR=str(tmp_path))
    done = subprocess.run(cli, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "TAXBOT_DATABASE_URL 必须是 PostgreSQL" in done.stderr and "Traceback" not in done.stderr
    never_created = f"taxbot_never_created_{uuid.uuid4().hex[:8]}"  # were nginx found, nothing could start
    env |= {
        "TAXBOT_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{never_created}",
        "TAXBOT_TRACKER_STORE_URL": f"postgresql://postgres@127.0.0.1:5432/{never_created}",
        "TAXBOT_LOCK_STORE_URL": REDIS_URL, "TAXBOT_NGINX_PATH": str(tmp_path / "no-nginx"),
    }  # fmt: skip
    done = subprocess.run(cli, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "找不到 nginx" in done.stderr and "Traceback" not in done.stderr


def test_the_generated_nginx_config_passes_nginx_t(tmp_path):
    settings = Settings(data_dir=tmp_path, port=free_port(), rasa_port=free_port())
    layout = Layout.plan(settings, apps=3, rasas=2)
    process = nginx_process(settings, layout)
    config = tmp_path / "run" / "nginx" / "nginx.conf"
    text = config.read_text()
    assert text.count("server 127.0.0.1:") == 5 and "location = /webhook" in text
    argv = [a for a in process.argv if a not in ("-g", "daemon off;")] + ["-t"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


LOCK_RACE = """
import multiprocessing, sys
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig
config = EndpointConfig(url="127.0.0.1", type=sys.argv[1], port=6379, db=8, key_prefix=sys.argv[2])
def issue(n):
    store = LockStore.create(config)
    return [store.issue_ticket("conversation") for _ in range(n)]
if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        tickets = sum(pool.map(issue, [25] * 4), [])
    LockStore.create(config).delete_lock("conversation")
    print(len(set(tickets)))
"""


def test_replicas_issuing_tickets_at_once_get_distinct_tickets():
    """4 processes × 25 tickets for one conversation: the atomic store keeps all 100 apart. (Rasa's own
    RedisLockStore — GET, edit, SET — handed out 43 distinct tickets of 100 here: two replicas could then
    serve one conversation at once, as test_rapid_messages_… once caught.)"""
    python = Path(Settings().rasa_venv) / "bin" / "python"
    argv = [str(python), "-c", LOCK_RACE, ATOMIC_LOCK_STORE, f"taxbottest{uuid.uuid4().hex[:8]}"]
    done = subprocess.run(argv, env={**os.environ, "PYTHONPATH": str(RASA_PATH)}, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "100"
