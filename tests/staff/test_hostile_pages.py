"""Hostile input to the pages outside the OpenAPI schema: the staff console, the document view, the
widget. Injected HTML comes back escaped, NUL bytes and odd scripts never reach the database as a 5xx,
redirects stay inside the console, oversized bodies are 413 — on SQLite and PostgreSQL.

One app per database for the whole module (building one costs migrations, an index and password
hashes); every test only reads, or writes rows of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.builder import build_from_store
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from knowledge_base.store import open_store
from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.accounts import Role, StaffStore
from taxbot.staff.config import StaffSettings
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, new_pg_schema
from tests.staff.conftest import PASSWORD, login

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert('x')&lt;/script&gt;"  # the page's text holds the tag itself
ODD = ["\x00", "\u202e\u200b", "😀🇨🇳", "ᠮᠣᠩᠭᠣᠯ عربى Ελληνικά", "' OR '1'='1'; DROP TABLE staff_users; --"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    root: Path = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{root / 'kb.sqlite3'}"
    if request.param == "postgresql":
        url = new_pg_schema(request.getfixturevalue("pg_database"))
    store = open_store(url)
    store.upsert_documents(TEST_DOCUMENTS)
    for faq in TEST_FAQS:
        store.upsert_faq(faq)
    accounts = StaffStore(store.engine)
    for name, role in (("agent1", Role.AGENT), ("reviewer1", Role.REVIEWER)):
        accounts.add_user(name, PASSWORD, role)
    retriever, _ = build_from_store(store, HashingEncoder(256), root / "index")
    following = FollowingRetriever(retriever, store, root=root / "index", interval=0.0)
    settings = Settings(data_dir=root, rasa_url="http://127.0.0.1:9", rasa_timeout=1.0)
    app = create_app(settings, Services(settings=settings, retriever=following, store=store))
    app.state.staff_settings = StaffSettings(max_upload_bytes=200_000)
    try:
        yield app
    finally:
        store.close()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    """Anonymous."""
    with TestClient(app) as anonymous:
        yield anonymous


@pytest.fixture(scope="module")
def agent(app: FastAPI) -> Iterator[tuple[TestClient, str]]:
    """(a client logged in as an agent, its CSRF token)."""
    with TestClient(app) as logged_in:
        yield logged_in, login(logged_in, "agent1")


def login_token(client: TestClient) -> str:
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return token.group(1)


def assert_escaped(html: str) -> None:
    assert SCRIPT not in html and "<script>alert" not in html
    assert "&lt;script&gt;" in html or "&lt;script" in html


@pytest.mark.parametrize("odd", [*ODD, SCRIPT, "a" * 64])
def test_login_with_hostile_credentials_is_401_and_escaped(client: TestClient, odd: str):
    token = login_token(client)
    response = client.post(
        "/staff/login", data={"username": odd, "password": odd or "x", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    if response.status_code == 422:  # PostgreSQL refuses NUL in text: said so, not a 500
        assert "\x00" in odd and "NUL" in response.json()["detail"]
        return
    assert response.status_code == 401, response.text
    assert "用户名或密码错误" in response.text and SCRIPT not in response.text


def test_login_refuses_oversized_fields_missing_csrf_and_json(client: TestClient):
    token = login_token(client)
    too_long = client.post(
        "/staff/login", data={"username": "admin1", "password": "p" * 300, "csrf_token": token}
    )
    assert too_long.status_code == 422
    no_csrf = client.post("/staff/login", data={"username": "admin1", "password": PASSWORD})
    assert no_csrf.status_code == 403 and "页面已过期" in no_csrf.text
    as_json = client.post("/staff/login", json={"username": "admin1", "password": PASSWORD})
    assert as_json.status_code == 422
    huge = client.post("/staff/login", content=b"username=" + b"a" * (2 * 1024 * 1024),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert huge.status_code == 413


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example", "/staff\\..\\evil", "javascript:alert(1)", "/other"],
)
def test_login_never_redirects_outside_the_console(client: TestClient, target: str):
    token = login_token(client)
    response = client.post(
        "/staff/login",
        data={"username": "agent1", "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    client.cookies.clear()  # stay anonymous for the other tests
    assert response.status_code == 303 and response.headers["location"] == "/staff/search"


def test_login_page_escapes_its_next_parameter(client: TestClient):
    response = client.get(
        "/staff/login", params={"next": f'/staff/search"><img src=x onerror=alert(1)>{SCRIPT}'}
    )
    assert response.status_code == 200
    assert "<img src=x" not in response.text and SCRIPT not in response.text


@pytest.mark.parametrize("q", [*ODD, SCRIPT, f"{SCRIPT}增值税税率", "增" * 501])
def test_search_page_with_hostile_queries(agent: tuple[TestClient, str], q: str):
    client, _ = agent
    response = client.get("/staff/search", params={"q": q, "region": SCRIPT, "as_of": "2026-13-45"})
    assert response.status_code in (200, 422), response.text
    assert SCRIPT not in response.text
    api = client.get("/api/staff/search", params={"q": q, "region": "全国", "k": 3})
    assert api.status_code in (200, 422), api.text


def test_unknown_filters_show_an_escaped_error(agent: tuple[TestClient, str]):
    client, _ = agent
    response = client.get("/staff/search", params={"q": "增值税", "region": SCRIPT})
    assert response.status_code == 422
    assert_escaped(response.text)


@pytest.mark.parametrize("odd", [*ODD, SCRIPT])
def test_faq_drafts_with_hostile_text_are_stored_and_shown_escaped(agent: tuple[TestClient, str], odd: str):
    client, csrf = agent
    form = {
        "question": f"车船税问题{odd}", "answer": f"测试答复{odd}", "similar_questions": odd,
        "citations": "test-vat-law#第十一条", "region": "全国", "tax_types": "车船税", "csrf_token": csrf,
    }  # fmt: skip
    created = client.post("/staff/faqs/new", data=form, follow_redirects=False)
    assert created.status_code in (303, 422), created.text
    if created.status_code == 303:
        page = client.get(created.headers["location"])
        assert page.status_code == 200 and SCRIPT not in page.text
    else:
        assert "\x00" in odd and SCRIPT not in created.text and "NUL" in created.text


@pytest.mark.parametrize("faq_id", [SCRIPT, "%00", "' OR 1=1 --", "😀", "..%2F..%2Fetc%2Fpasswd"])
def test_unknown_ids_in_paths_are_404_pages(agent: tuple[TestClient, str], faq_id: str):
    client, _ = agent
    for path in (f"/staff/faqs/{faq_id}", f"/staff/uploads/{faq_id}", f"/api/staff/faqs/{faq_id}"):
        response = client.get(path)
        expected = (404, 422) if faq_id == "%00" else (404,)  # NUL: PostgreSQL cannot even look it up
        assert response.status_code in expected, (path, response.status_code, response.text)
        assert SCRIPT not in response.text


@pytest.mark.parametrize(
    ("filename", "data", "status"),
    [
        ("../../etc/passwd.txt", "测试规定\n第一条 测试内容。".encode(), 303),
        (f"{SCRIPT}.txt", "测试规定\n第一条 测试内容。".encode(), 303),
        ("空.txt", b"", 422),
        ("二进制.txt", b"\x00\xff\xfe\x00" * 50, 422),
        ("病毒.exe", b"MZ\x90\x00", 422),
        ("坏.pdf", b"%PDF-1.7 not really", 422),
        ("坏.docx", b"PK\x03\x04 not a zip", 422),
        (
            "bomb.html",
            f"<html><body><h1>{ESCAPED}测试规定</h1><p>第一条 {ESCAPED}</p></body></html>".encode(),
            303,
        ),
        ("大.txt", b"a" * 200_001, 422),
    ],
)
def test_hostile_uploads_are_refused_or_shown_escaped(
    agent: tuple[TestClient, str], filename: str, data: bytes, status: int
):
    client, csrf = agent
    response = client.post(
        "/staff/uploads", files={"file": (filename, data)}, data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == status, response.text
    if status == 303:
        page = client.get(response.headers["location"])
        assert page.status_code == 200 and SCRIPT not in page.text and "../" not in page.text
    else:
        assert SCRIPT not in response.text and "文件" in response.text


# --- the taxpayer-facing pages ---------------------------------------------------------------------------
@pytest.mark.parametrize("doc_id", [SCRIPT, "%00", "' OR '1'='1", "😀", "a" * 3000])
def test_document_view_with_hostile_ids_is_an_escaped_404(client: TestClient, doc_id: str):
    response = client.get(f"/documents/{doc_id}", params={"article": SCRIPT[:60]})
    assert response.status_code in ((404, 422) if doc_id == "%00" else (404,)), response.text
    assert SCRIPT not in response.text and "<script>alert" not in response.text


@pytest.mark.parametrize("article", [SCRIPT[:60], "\x00", "\u202e第十条", "第十条' OR 1=1"])
def test_document_view_escapes_the_article_it_cannot_find(client: TestClient, article: str):
    response = client.get("/documents/test-vat-law", params={"article": article})
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert client.get("/documents/test-vat-law", params={"article": "第" * 65}).status_code == 422


def test_widget_and_pages_ignore_hostile_query_strings(client: TestClient):
    for path in ("/widget.js", "/widget.css", "/", "/api/regions"):
        response = client.get(path, params={"x": SCRIPT, "y": "\x00"})
        assert response.status_code == 200 and SCRIPT not in response.text
    assert client.post("/widget.js", content=b"x").status_code == 405
