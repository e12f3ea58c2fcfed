from taxbot.routes.chat import UNAVAILABLE


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


def test_rasa_down_is_503_with_the_hotline_and_no_traceback(client):
    response = client.post("/api/chat", json={"sender": "u1", "message": "小规模纳税人征收率是多少"})
    assert response.status_code == 503
    assert response.json() == {"detail": UNAVAILABLE}
    assert "Traceback" not in response.text


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
    assert response.status_code == 503  # released: back to the (unreachable) bot


def test_other_conversations_are_not_gated(client):
    client.app.state.conversations.enqueue("u8", "request")
    assert client.post("/api/chat", json={"sender": "u9", "message": "你好"}).status_code == 503
