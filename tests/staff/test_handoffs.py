"""The handoff desk's API and the widget's poll endpoint, on SQLite and PostgreSQL: the queue with its
context, claim (409 for a second agent), reply (403/409/422), release (the bot is back), the audit log,
the event stream, and 401/403 for anyone else."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge_base.store import KnowledgeStore
from taxbot.app import create_app
from taxbot.conversations import ConversationStore, TurnSummary, open_conversation_store
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.accounts import Role, StaffStore
from taxbot.staff.config import StaffSettings
from taxbot.staff.handoffs import BACK_TO_BOT
from tests.channels.fakes import free_port, wait_until
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, TinyRetriever
from tests.staff.conftest import PASSWORD, mount_staff, token_for

SENDER = "web-5f0c1d2e-taxpayer"
PHONE = "13812345678"


@pytest.fixture
def app(store: KnowledgeStore, staff: StaffStore, tmp_path: Path) -> FastAPI:
    """The product app; conversations in the same database as the staff accounts (as in production)."""
    staff.add_user("agent2", PASSWORD, Role.AGENT)
    url = store.engine.url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, database_url=url, rasa_url="http://127.0.0.1:9", rasa_timeout=1.0)
    services = Services(settings=settings, retriever=TinyRetriever(TEST_DOCUMENTS, TEST_FAQS), store=store)
    app = create_app(settings, services)
    app.state.staff_settings = StaffSettings()
    return mount_staff(app)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def conversations(client: TestClient) -> ConversationStore:
    return client.app.state.conversations


def hand_over(conversations: ConversationStore, sender: str = SENDER) -> int:
    """A real-looking conversation: an answered question with sources, then 转人工 (recorded as GatedDialogue
    records Rasa's turns)."""
    conversations.record_exchange(
        sender, f"北京出租房子房产税怎么交？我电话{PHONE}",
        TurnSummary("北京市个人出租住房按租金收入的4%计征房产税。", intent="ask_property_tax",
                    answer_kind="article", sources=("test-bj-property#第三条",), region="北京市"),
    )  # fmt: skip
    conversations.record_exchange(
        sender, "/request_human",
        TurnSummary("已为您转接人工坐席，请稍候。", intent="request_human", answer_kind="handoff",
                    handoff_reason="request", region="北京市"),
    )  # fmt: skip
    handoff = conversations.handed_over(sender)
    assert handoff is not None
    return handoff.id


def test_the_queue_shows_each_handoff_with_its_context(client, conversations) -> None:
    agent = token_for(client, "agent1")
    first = hand_over(conversations)
    second = hand_over(conversations, "wechat:oTaxpayer42")
    queue = client.get("/api/staff/handoffs", headers=agent)
    assert queue.status_code == 200, queue.text
    rows = queue.json()
    assert [r["id"] for r in rows] == [first, second]
    row = rows[0]
    assert row["channel"] == "网页" and rows[1]["channel"] == "微信公众号"
    assert row["status"] == "waiting" and row["reason_text"] == "纳税人要求转人工"
    assert row["region"] == "北京市" and row["waiting_seconds"] >= 0
    assert row["question"].startswith("北京出租房子房产税怎么交") and PHONE not in row["question"]
    assert row["last_attempt"]["text"].startswith("北京市个人出租住房")
    assert row["last_attempt"]["sources"] == ["test-bj-property#第三条"]

    one = client.get(f"/api/staff/handoffs/{first}", headers=agent).json()
    assert [t["role"] for t in one["transcript"]] == ["taxpayer", "bot", "taxpayer", "bot"]
    assert all(PHONE not in t["text"] for t in one["transcript"])
    assert client.get("/api/staff/handoffs/999999", headers=agent).status_code == 404


def test_anonymous_and_cross_site_requests_are_refused(client, conversations) -> None:
    handoff = hand_over(conversations)
    for method, path in [
        ("GET", "/api/staff/handoffs"), ("GET", "/api/staff/handoffs/events"),
        ("GET", f"/api/staff/handoffs/{handoff}"), ("GET", f"/api/staff/handoffs/{handoff}/events"),
        ("POST", f"/api/staff/handoffs/{handoff}/claim"), ("POST", f"/api/staff/handoffs/{handoff}/reply"),
        ("POST", f"/api/staff/handoffs/{handoff}/release"),
    ]:  # fmt: skip
        assert client.request(method, path, json={"text": "x"}).status_code == 401, path
    assert (
        client.get("/staff/handoffs", follow_redirects=False).headers["location"].startswith("/staff/login")
    )
    from tests.staff.conftest import login

    login(client, "agent1", "/staff/handoffs")  # a session cookie, but no CSRF token sent
    refused = client.post(f"/api/staff/handoffs/{handoff}/claim")
    assert refused.status_code == 403 and conversations.handed_over(SENDER).status == "waiting"


def test_one_agent_claims_others_get_409_and_only_the_claimer_replies(client, conversations) -> None:
    agent1, agent2 = token_for(client, "agent1"), token_for(client, "agent2")
    handoff = hand_over(conversations)
    other = hand_over(conversations, "web-other-taxpayer")
    early = client.post(f"/api/staff/handoffs/{handoff}/reply", json={"text": "您好"}, headers=agent1)
    assert early.status_code == 409 and "请先接管" in early.json()["detail"]

    claimed = client.post(f"/api/staff/handoffs/{handoff}/claim", headers=agent1)
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "agent1"
    assert client.post(f"/api/staff/handoffs/{handoff}/claim", headers=agent1).status_code == 200  # no-op
    taken = client.post(f"/api/staff/handoffs/{handoff}/claim", headers=agent2)
    assert taken.status_code == 409 and "agent1" in taken.json()["detail"]

    forbidden = client.post(f"/api/staff/handoffs/{handoff}/reply", json={"text": "我来答"}, headers=agent2)
    assert forbidden.status_code == 403 and "只有接管的坐席" in forbidden.json()["detail"]
    assert client.post("/api/staff/handoffs/424242/claim", headers=agent1).status_code == 404
    assert client.post(f"/api/staff/handoffs/{2**63}/claim", headers=agent1).status_code == 422  # not a 500
    queue = {r["id"]: r for r in client.get("/api/staff/handoffs", headers=agent2).json()}
    assert queue[handoff]["status"] == "claimed" and queue[other]["status"] == "waiting"
    assert all(t.role != "agent" for t in conversations.transcript(SENDER))


@pytest.mark.parametrize(
    ("text", "reason"), [("", "回复不能为空"), ("   \n ", "回复不能为空"), ("税" * 2001, "回复过长：2001 字")]
)
def test_empty_or_oversized_replies_are_refused_in_chinese(client, conversations, text, reason) -> None:
    agent = token_for(client, "agent1")
    handoff = hand_over(conversations)
    client.post(f"/api/staff/handoffs/{handoff}/claim", headers=agent)
    response = client.post(f"/api/staff/handoffs/{handoff}/reply", json={"text": text}, headers=agent)
    assert response.status_code == 422 and reason in response.json()["detail"]
    assert client.post(f"/api/staff/handoffs/{handoff}/reply", json={}, headers=agent).status_code == 422
    assert len(conversations.transcript(SENDER)) == 4  # nothing recorded


def test_reply_reaches_the_widget_and_release_gives_the_bot_back(client, conversations) -> None:
    agent1, agent2 = token_for(client, "agent1"), token_for(client, "agent2")
    reviewer, admin = token_for(client, "reviewer1"), token_for(client, "admin1")
    handoff = hand_over(conversations)
    client.post(f"/api/staff/handoffs/{handoff}/claim", headers=agent1)
    sent = client.post(
        f"/api/staff/handoffs/{handoff}/reply", json={"text": f"您好，请核对手机号{PHONE}。"}, headers=agent1
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["delivered"] is True and sent.json()["channel"] == "web"
    assert "网页对话窗口" in sent.json()["message"]

    polled = client.get(f"/api/chat/{SENDER}/messages", params={"after": 0}).json()
    assert polled["handoff"] == "claimed"
    [message] = polled["messages"]  # only what was pushed, never the taxpayer's own turns
    assert message["role"] == "agent" and message["text"].startswith("您好，请核对手机号")
    assert PHONE not in message["text"]
    after = client.get(f"/api/chat/{SENDER}/messages", params={"after": message["id"]}).json()
    assert after["messages"] == []

    assert client.post(f"/api/staff/handoffs/{handoff}/release", headers=agent2).status_code == 403
    released = client.post(f"/api/staff/handoffs/{handoff}/release", headers=agent1)
    assert released.status_code == 200 and released.json()["handoff"]["status"] == "released"
    assert released.json()["notice"]["delivered"] is True
    assert conversations.handed_over(SENDER) is None  # GatedDialogue lets Rasa answer again
    polled = client.get(f"/api/chat/{SENDER}/messages", params={"after": message["id"]}).json()
    assert polled["handoff"] is None and [m["text"] for m in polled["messages"]] == [BACK_TO_BOT]
    assert client.post(f"/api/staff/handoffs/{handoff}/release", headers=agent1).status_code == 409
    assert client.post(f"/api/staff/handoffs/{handoff}/claim", headers=agent1).status_code == 409
    assert client.get("/api/staff/handoffs", headers=agent1).json() == []

    second = hand_over(conversations)  # a reviewer may take back a conversation from an absent agent
    client.post(f"/api/staff/handoffs/{second}/claim", headers=agent2)
    assert client.post(f"/api/staff/handoffs/{second}/release", headers=reviewer).status_code == 200

    audit = client.get("/api/staff/audit", headers=admin).json()
    actions = [(r["actor"], r["action"], r["key"]) for r in audit if r["kind"] == "handoff"]
    assert ("agent1", "claim_handoff", str(handoff)) in actions
    assert ("agent1", "reply_handoff", str(handoff)) in actions
    assert ("agent1", "release_handoff", str(handoff)) in actions
    assert ("reviewer1", "release_handoff", str(second)) in actions
    assert all(PHONE not in json.dumps(r["detail"]) for r in audit)


def test_the_widget_poll_refuses_bad_input(client) -> None:
    assert client.get("/api/chat/web-x/messages", params={"after": -1}).status_code == 422
    assert client.get("/api/chat/web-x/messages", params={"after": "abc"}).status_code == 422
    assert client.get("/api/chat/web-x/messages", params={"after": 2**63}).status_code == 422
    assert client.get("/api/chat/" + "x" * 129 + "/messages").status_code == 422
    unknown = client.get("/api/chat/web-never-seen/messages")
    assert (
        unknown.status_code == 200 and unknown.json()["messages"] == [] and unknown.json()["handoff"] is None
    )


def events(response_text: str) -> list[dict]:
    return [json.loads(line[6:])["data"] for line in response_text.splitlines() if line.startswith("data: ")]


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` under a real uvicorn on a free port (a stream is read while it is being written)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=60)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


def next_event(lines: Iterator[str], idle: list[str]) -> list[dict]:
    """The next ``data:`` event of an event stream (``: idle`` comments before it collected in ``idle``)."""
    for line in lines:
        if line.startswith("data: "):
            return json.loads(line[6:])["data"]
        if line.startswith(":"):
            idle.append(line)
    raise AssertionError("the stream ended")


def test_the_queue_stream_sends_a_new_handoff_without_reload(app, store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    conversations = open_conversation_store(url)
    with served(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        token = http.post("/api/staff/tokens", json={"username": "agent1", "password": PASSWORD}).json()
        agent = {"Authorization": f"Bearer {token['token']}"}
        with http.stream(
            "GET", "/api/staff/handoffs/events", params={"seconds": 60}, headers=agent
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines, idle = stream.iter_lines(), []
            assert next(lines).startswith("retry: ")
            assert next_event(lines, idle) == []
            hand_over(conversations)  # a taxpayer asks for a human while the agent watches
            [row] = next_event(lines, idle)
            assert row["conversation_id"] == SENDER and row["status"] == "waiting"
            quiet = 0
            for line in lines:  # nothing changes now: only keep-alive comments, no new event
                assert not line.startswith("data: "), line
                quiet += line.startswith(":")
                if quiet == 2:
                    break
            else:
                raise AssertionError("the stream ended")
        handoff = row["id"]
        with http.stream("GET", f"/api/staff/handoffs/{handoff}/events", headers=agent) as stream:
            lines = stream.iter_lines()
            assert next_event(lines, [])["transcript"][-1]["role"] == "bot"
        assert http.get("/api/staff/handoffs/999/events", headers=agent).status_code == 404
        ended = http.get("/api/staff/handoffs/events", params={"seconds": 1}, headers=agent)
        assert len(events(ended.text)) == 1  # the stream closes after ``seconds``; EventSource reconnects
    conversations.close()
