"""The web channel's pages and assets on a real FastAPI app with a real SQLite knowledge store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channels import web
from knowledge_base.models import Article, DocStatus, Document
from knowledge_base.regions import ALL_REGIONS
from knowledge_base.store import open_store

VAT = Document(
    id="vat-small-scale-2026",
    title="关于增值税小规模纳税人征收率的公告",
    doc_number="财政部 税务总局公告2026年第1号",
    issuer="财政部 国家税务总局",
    published=date(2026, 1, 5),
    effective=date(2026, 1, 1),
    articles=(
        Article(doc_id="vat-small-scale-2026", seq=0, label="第一条", text="小规模纳税人适用3%征收率。"),
        Article(doc_id="vat-small-scale-2026", seq=1, label="第二条", text="本公告自2026年1月1日起施行。"),
    ),
)
OLD = Document(
    id="old-local-<rule>",
    title="某市<旧>规定",
    region="北京市",
    status=DocStatus.REPEALED,
    status_note="已被新规定替代",
    superseded_by="vat-small-scale-2026",
    articles=(Article(doc_id="old-local-<rule>", seq=0, label="第一条", text="<script>alert(1)</script>"),),
)


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    store = open_store(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    store.upsert_documents([VAT, OLD])
    app = FastAPI()
    app.include_router(web.router)
    app.state.services = SimpleNamespace(store=store)
    with TestClient(app) as test_client:
        yield test_client
    store.close()


def test_home_page_is_the_chat_with_hot_questions(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<title>12366 智能咨询</title>" in page
    assert 'src="/widget.js"' in page and 'data-mount="#taxbot-chat"' in page
    assert 'href="/widget.css"' in page
    assert page.count("data-taxbot-ask=") >= 3
    assert "小规模纳税人增值税征收率是多少？" in page


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/widget.js", "application/javascript; charset=utf-8"),
        ("/widget.css", "text/css; charset=utf-8"),
        ("/document.js", "application/javascript; charset=utf-8"),
    ],
)
def test_assets_are_served_with_their_types_to_any_origin(client, path, content_type):
    response = client.get(path, headers={"Origin": "https://www.example.gov.cn"})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["access-control-allow-origin"] == "*"
    assert len(response.text) > 100


@pytest.mark.parametrize(
    "path", ["/", "/widget.js", "/widget.css", "/document.js", "/documents/vat-small-scale-2026"]
)
def test_nothing_is_loaded_from_another_host(client, path):
    body = client.get(path).text
    # the only absolute URLs allowed are the embedding examples in the widget's header comment
    code = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("//"))
    assert not re.search(r"https?://", code), re.findall(r"https?://\S+", code)
    assert "@import" not in code and "googleapis" not in code


def test_widget_never_uses_inner_html_or_logs(client):
    script = client.get("/widget.js").text
    assert "innerHTML" not in script and "outerHTML" not in script and "insertAdjacentHTML" not in script
    assert "console." not in script and "document.write" not in script


def test_regions_json_lists_every_region_once(client):
    response = client.get("/api/regions")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["national"] == "全国"
    labels = [g["label"] for g in body["groups"]]
    assert labels == ["省、自治区、直辖市", "计划单列市", "其他城市"]
    listed = [r for g in body["groups"] for r in g["regions"]]
    assert sorted(listed) == sorted(ALL_REGIONS)
    assert "北京市" in body["groups"][0]["regions"] and "深圳市" in body["groups"][1]["regions"]


def test_document_page_highlights_the_cited_article(client):
    response = client.get("/documents/vat-small-scale-2026", params={"article": "第二条"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<title>关于增值税小规模纳税人征收率的公告 - 12366 智能咨询</title>" in page
    assert "财政部 税务总局公告2026年第1号" in page and "2026-01-01" in page
    [current] = re.findall(r'<section id="article-(\d+)" class="tx-article tx-article-current"', page)
    assert current == "1"
    assert page.count("tx-article-current") == 1
    assert 'src="/document.js"' in page


def test_document_page_without_a_known_article_shows_the_whole_text(client):
    page = client.get("/documents/vat-small-scale-2026", params={"article": "第九十九条"}).text
    assert "未找到“第九十九条”" in page
    assert "tx-article-current" not in page
    assert "第一条" in page and "第二条" in page


def test_document_page_escapes_text_and_warns_about_repealed_rules(client):
    response = client.get("/documents/old-local-<rule>")
    assert response.status_code == 200
    page = response.text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "某市&lt;旧&gt;规定" in page
    assert "本文件状态：已废止" in page and "已被新规定替代" in page
    assert 'href="/documents/vat-small-scale-2026"' in page
    assert "地方（北京市）" in page


def test_unknown_document_is_a_404_page(client):
    response = client.get("/documents/no-such-doc")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "未找到该政策文件" in response.text and "no-such-doc" in response.text


def test_document_page_without_a_knowledge_base_is_a_503_page():
    app = FastAPI()
    app.include_router(web.router)
    app.state.services = None
    with TestClient(app) as test_client:
        response = test_client.get("/documents/vat-small-scale-2026")
    assert response.status_code == 503
    assert "知识库暂时不可用" in response.text


@pytest.mark.parametrize(
    ("wanted", "label"),
    [("第二条", "第二条"), (" 第一条 ", "第一条"), ("第一条第二款", "第一条"), ("", None), ("第十条", None)],
)
def test_find_article(wanted, label):
    found = web.find_article(VAT, wanted)
    assert (found.label if found else None) == label
