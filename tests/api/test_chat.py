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
