"""`/api/kb` over a real workspace (store + index) built by build_services."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.builder import build_from_store
from knowledge_base.store import open_store
from taxbot.routes.kb import router
from taxbot.services import build_services
from taxbot.settings import Settings


@pytest.fixture
def client(small_docs, small_faqs, encoder, tmp_path: Path):
    settings = Settings(data_dir=tmp_path, embedding_model="hashing-256", models_dir=tmp_path / "models")
    store = open_store(settings.resolved_database_url)
    store.upsert_documents(small_docs)
    for entry in small_faqs:
        store.upsert_faq(entry)
    build_from_store(store, encoder, tmp_path / "index")
    store.close()
    services = build_services(settings)
    app = FastAPI()
    app.include_router(router)
    app.state.services = services
    with TestClient(app) as test_client:
        yield test_client
    services.close()


def test_search_hits_like_cli_json(client):
    r = client.get("/api/kb/search", params={"q": "小规模纳税人征收率多少", "as_of": "2026-06-01", "k": 3})
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"query", "region", "as_of", "hits"} and data["as_of"] == "2026-06-01"
    assert data["hits"][0]["kind"] == "faq" and data["hits"][0]["faq_id"] == "faq-rate"
    assert len(data["hits"]) == 3


def test_search_region_is_normalised_and_filters(client):
    r = client.get("/api/kb/search", params={"q": "大气污染物环境保护税适用税额", "region": "深圳", "k": 10})
    data = r.json()
    assert data["region"] == "深圳市"
    ids = {h["doc_id"] for h in data["hits"]}
    assert "gd-env" in ids and not ids & {"bj-env", "sh-env"}


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"q": ""}, "q must not be empty"),
        ({"q": "增值税", "region": "火星"}, "unknown region '火星'"),
        ({"q": "增值税", "as_of": "2026-02-30"}, "bad as_of date '2026-02-30'"),
        ({"q": "增值税", "k": 0}, "k must be between 1 and 50, got 0"),
        ({"q": "增值税", "k": 51}, "k must be between 1 and 50, got 51"),
    ],
)
def test_bad_parameters_422_with_reason(client, params, reason):
    r = client.get("/api/kb/search", params=params)
    assert r.status_code == 422
    assert reason in r.json()["detail"]


def test_document_and_faq(client):
    doc = client.get("/api/kb/documents/nat-vat").json()
    assert doc["title"] == "增值税若干问题的公告" and doc["articles"][0]["label"] == "第1条"
    faq = client.get("/api/kb/faq/faq-rate").json()
    assert faq["citations"] == [{"doc_id": "nat-vat", "article": "第1条"}]
    assert client.get("/api/kb/documents/nope").status_code == 404
    assert client.get("/api/kb/faq/nope").status_code == 404


def test_no_services_is_503():
    app = FastAPI()
    app.include_router(router)
    app.state.services = None
    app.state.services_error = "知识库未就绪"
    with TestClient(app) as c:
        r = c.get("/api/kb/search", params={"q": "增值税"})
    assert r.status_code == 503 and r.json()["detail"] == "知识库未就绪"
