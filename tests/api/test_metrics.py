"""`GET /metrics`: Prometheus text, counted where the work happens, bounded labels, optional bearer token.

Rasa is faked over HTTP (httpx MockTransport answering its REST channel's JSON) behind the real
``RasaClient``; everything else is the real app. Counters are global to the process: tests compare
values before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from taxbot.app import create_app
from taxbot.rasa_client import RasaClient
from taxbot.services import Services
from tests.api.test_webhook import action_call
from tests.conftest import REPO_ROOT

FAQ_REPLY = [
    {"recipient_id": "s", "text": "每月五千元。"},
    {"recipient_id": "s", "custom": {"answer_kind": "faq", "citations": []}},
]
NO_ANSWER_REPLY = [{"recipient_id": "s", "text": "抱歉", "custom": {"answer_kind": "none", "citations": []}}]
HANDOFF_REPLY = [
    {"recipient_id": "s", "text": "转人工", "custom": {
        "answer_kind": "handoff", "handoff_queued": True, "handoff_reason": "no_answer", "citations": [],
    }},
]  # fmt: skip


def sample(client: TestClient, name: str, **labels: str) -> float:
    """The value of sample ``name`` with ``labels`` (0 when absent) in a fresh scrape."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(k) == v for k, v in labels.items()):
                return item.value
    return 0.0


def fake_rasa(client: TestClient, replies: list[dict], status: int = 200) -> None:
    """Point the app's dialogue straight at a fake Rasa (no queue between) answering ``replies``."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/webhooks/rest/webhook"
        return httpx.Response(status, json=replies)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://rasa.test")
    client.app.state.dialogue.engine = RasaClient("http://rasa.test", timeout=2.0, client=http)


def test_metrics_are_prometheus_text_with_the_app_families(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    for name in ("taxbot_turns", "taxbot_turn_seconds", "taxbot_no_answer_turns", "taxbot_handoffs",
                 "taxbot_search_seconds", "taxbot_action_calls", "taxbot_http_requests"):  # fmt: skip
        assert name in names, name


def test_turns_are_counted_by_channel_and_answer_kind_with_latency(client):
    fake_rasa(client, FAQ_REPLY)
    before = sample(client, "taxbot_turns_total", channel="web", answer_kind="faq")
    latency_before = sample(client, "taxbot_turn_seconds_count", channel="web")
    assert client.post("/api/chat", json={"sender": "u1", "message": "个税起征点"}).status_code == 200
    assert sample(client, "taxbot_turns_total", channel="web", answer_kind="faq") == before + 1
    assert sample(client, "taxbot_turn_seconds_count", channel="web") == latency_before + 1


def test_no_answers_and_handoffs_are_counted(client):
    fake_rasa(client, NO_ANSWER_REPLY)
    no_answers = sample(client, "taxbot_no_answer_turns_total", channel="web")
    handoffs = sample(client, "taxbot_handoffs_total", reason="no_answer")
    client.post("/api/chat", json={"sender": "u2", "message": "火星税怎么交"})
    assert sample(client, "taxbot_no_answer_turns_total", channel="web") == no_answers + 1
    assert sample(client, "taxbot_handoffs_total", reason="no_answer") == handoffs
    fake_rasa(client, HANDOFF_REPLY)
    client.post("/api/chat", json={"sender": "u2", "message": "火星税到底怎么交"})
    assert sample(client, "taxbot_no_answer_turns_total", channel="web") == no_answers + 2
    assert sample(client, "taxbot_handoffs_total", reason="no_answer") == handoffs + 1


def test_a_failing_bot_counts_as_an_unavailable_turn(client):
    fake_rasa(client, [], status=500)
    before = sample(client, "taxbot_turns_total", channel="web", answer_kind="unavailable")
    response = client.post("/api/chat", json={"sender": "u3", "message": "你好"})
    assert response.json()[-1]["custom"]["answer_kind"] == "unavailable"
    assert sample(client, "taxbot_turns_total", channel="web", answer_kind="unavailable") == before + 1


def test_no_sender_phone_or_raw_path_reaches_a_label(client):
    fake_rasa(client, [{"recipient_id": "s", "custom": {"answer_kind": "Weird Kind 13800138000"}}])
    sender = "sms-13912345678"
    client.post("/api/chat", json={"sender": sender, "message": "我的电话13800138000"})
    client.get("/documents/doc-13700001111")
    body = client.get("/metrics").text
    assert "13800138000" not in body and "13912345678" not in body and "13700001111" not in body
    assert 'route="/documents/{doc_id}"' in body
    assert sample(client, "taxbot_turns_total", channel="web", answer_kind="other") >= 1


def test_http_requests_are_counted_by_route_template_and_status(client):
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    before = sample(client, "taxbot_http_requests_total", **healthz)
    missing = sample(client, "taxbot_http_requests_total", **unmatched)
    client.get("/healthz")
    client.get("/no/such/page/42")
    assert sample(client, "taxbot_http_requests_total", **healthz) == before + 1
    assert sample(client, "taxbot_http_requests_total", **unmatched) == missing + 1


def test_webhook_calls_and_searches_are_counted(client):
    ok = sample(client, "taxbot_action_calls_total", action="action_search_kb", outcome="ok")
    searches = sample(client, "taxbot_search_seconds_count", outcome="hits")
    unknown = sample(client, "taxbot_action_calls_total", action="unknown", outcome="not_found")
    assert client.post("/webhook", json=action_call("小规模纳税人增值税征收率是多少")).status_code == 200
    assert client.post("/webhook", json=action_call("你好", action="action_13800138000")).status_code == 404
    assert sample(client, "taxbot_action_calls_total", action="action_search_kb", outcome="ok") == ok + 1
    assert sample(client, "taxbot_search_seconds_count", outcome="hits") >= searches + 1
    assert sample(client, "taxbot_action_calls_total", action="unknown", outcome="not_found") == unknown + 1


def test_the_served_index_version_follows_current(client, settings):
    root = settings.data_dir / "index"
    first, second = "v20260101T000000000001-aaaaaa", "v20260102T000000000002-bbbbbb"
    for version, content_hash in ((first, "1111"), (second, "2222")):
        (root / version).mkdir(parents=True)
        (root / version / "manifest.json").write_text(
            json.dumps({"content_hash": content_hash, "index_kind": "flat"}), encoding="utf-8"
        )
    (root / "CURRENT").write_text(first, encoding="utf-8")
    assert sample(client, "taxbot_index_info", version=first, content_hash="1111") == 1
    (root / "CURRENT").write_text(second, encoding="utf-8")
    assert sample(client, "taxbot_index_info", version=second, content_hash="2222", index_kind="flat") == 1
    assert first not in client.get("/metrics").text


@pytest.fixture
def guarded(settings, tiny_retriever) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"metrics_token": SecretStr("scrape-token-0123456789")})
    with TestClient(create_app(settings, Services(settings=settings, retriever=tiny_retriever))) as client:
        yield client


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic scrape-token-0123456789"])
def test_a_configured_token_is_required(guarded, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = guarded.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "taxbot_turns" not in response.text


def test_the_right_bearer_token_is_let_in(guarded):
    response = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert response.status_code == 200 and "taxbot_http_requests_total" in response.text


def test_worker_processes_are_aggregated_with_prometheus_multiproc_dir(tmp_path):
    script = (
        "from taxbot.observability.metrics import TURNS, render\n"
        "TURNS.labels('wechat', 'faq').inc(3)\n"
        "print(render()[0].decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert 'taxbot_turns_total{answer_kind="faq",channel="wechat"} 3.0' in done.stdout
    assert list(tmp_path.glob("counter_*.db"))  # the values live in the shared directory
