from fastapi.testclient import TestClient

from taxbot.app import create_app
from taxbot.conversations.replay import QUEUED
from taxbot.routes.chat import UNAVAILABLE
from taxbot.services import Services


def test_empty_message_is_422_with_a_reason(client):
    response = client.post("/api/chat", json={"sender": "u1", "message": "   "})
    assert response.status_code == 422
    assert "不能为空" in response.json()["detail"]


def test_oversized_message_is_422_with_the_limit(client):
    response = client.post("/api/chat", json={"sender": "u1", "message": "增" * 51})
    assert response.status_code == 422
    assert "最多 50 字" in response.json()["detail"]


def test_missing_sender_is_422(client):
    assert client.post("/api/chat", json={"message": "你好"}).status_code == 422


def test_rasa_down_queues_the_message_and_tells_the_widget_to_poll(client):
    response = client.post("/api/chat", json={"sender": "u1", "message": "我的手机13800138000，征收率是多少"})
    assert response.status_code == 200 and "Traceback" not in response.text
    [note, custom] = response.json()
    assert note["text"] == QUEUED and "12366" in note["text"]
    assert custom["custom"]["answer_kind"] == "queued" and custom["custom"]["poll"] is True
    [queued] = client.app.state.pending.messages("u1")
    assert queued.status == "pending" and "13800138000" not in queued.text and "征收率是多少" in queued.text


def test_without_a_conversation_store_the_taxpayer_is_told_to_retry(settings, tiny_retriever):
    settings = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
    with TestClient(app) as client:
        response = client.post("/api/chat", json={"sender": "u1", "message": "征收率是多少"})
    assert response.status_code == 200
    [note, custom] = response.json()
    assert note["text"] == UNAVAILABLE and custom["custom"] == {
        "answer_kind": "unavailable", "retry": True, "citations": [],
    }  # fmt: skip


def test_a_handed_over_conversation_is_stored_for_the_agent_not_sent_to_rasa(client):
    store = client.app.state.conversations
    handoff = store.enqueue("u7", "request")
    response = client.post("/api/chat", json={"sender": "u7", "message": "我的手机13800138000，请回电"})
    assert response.status_code == 200  # Rasa is down in these tests: it was not asked
    [note, custom] = response.json()
    assert "人工坐席" in note["text"] and custom["custom"]["answer_kind"] == "with_agent"
    [turn] = store.transcript("u7")
    assert turn.role == "taxpayer" and turn.answer_kind == "to_agent"
    assert "13800138000" not in turn.text and "138****8000" in turn.text
    store.release(handoff.id)
    response = client.post("/api/chat", json={"sender": "u7", "message": "还有个问题"})
    assert response.json()[0]["text"] == QUEUED  # released: back to the (unreachable) bot, so queued


def test_other_conversations_are_not_gated(client):
    client.app.state.conversations.enqueue("u8", "request")
    assert client.post("/api/chat", json={"sender": "u9", "message": "你好"}).json()[0]["text"] == QUEUED
