from fastapi.testclient import TestClient

from taxbot.app import create_app


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_names_rasa_as_not_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert "unreachable" in body["checks"]["rasa"]
    assert body["checks"]["retriever"] == "ok"


def test_readyz_names_an_unbuilt_knowledge_base(settings):
    """Without injected services the lifespan builds them from settings: an empty workspace is not ready,
    and the bot apologises instead of crashing."""
    with TestClient(create_app(settings)) as client:
        body = client.get("/readyz").json()
        assert body["checks"]["retriever"].startswith("知识库未就绪")
        assert client.get("/healthz").status_code == 200
