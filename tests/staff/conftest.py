"""The app with a real knowledge store (SQLite and PostgreSQL) and a real retriever that follows it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import NoMatchFound

from index.builder import build_from_store
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from knowledge_base.store import KnowledgeStore, open_store
from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.accounts import Role, StaffStore
from taxbot.staff.config import StaffSettings
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, new_pg_schema

PASSWORD = "correct horse battery"
USERS = {"agent1": Role.AGENT, "reviewer1": Role.REVIEWER, "admin1": Role.ADMIN}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KnowledgeStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    else:
        base = request.getfixturevalue("pg_database")
        url = new_pg_schema(base)
    kb = open_store(url)
    kb.upsert_documents(TEST_DOCUMENTS)
    for faq in TEST_FAQS:
        kb.upsert_faq(faq)
    try:
        yield kb
    finally:
        kb.close()


@pytest.fixture
def staff(store: KnowledgeStore) -> StaffStore:
    accounts = StaffStore(store.engine)
    for name, role in USERS.items():
        accounts.add_user(name, PASSWORD, role)
    return accounts


def mount_staff(app: FastAPI) -> FastAPI:
    """The staff router, unless the app already includes it (the lead wires it into create_app)."""
    try:
        app.url_path_for("login_form")
    except NoMatchFound:
        from taxbot.routes.staff import router

        app.include_router(router)
    return app


@pytest.fixture
def app(store: KnowledgeStore, staff: StaffStore, tmp_path: Path) -> FastAPI:
    settings = Settings(data_dir=tmp_path, rasa_url="http://127.0.0.1:9", rasa_timeout=1.0)
    root = tmp_path / "index"
    retriever, _ = build_from_store(store, HashingEncoder(256), root)
    following = FollowingRetriever(retriever, store, root=root, interval=0.0)
    app = create_app(settings, Services(settings=settings, retriever=following, store=store))
    app.state.staff_settings = StaffSettings(max_upload_bytes=200_000)
    return mount_staff(app)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def token_for(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/staff/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def agent(client: TestClient) -> dict[str, str]:
    return token_for(client, "agent1")


@pytest.fixture
def reviewer(client: TestClient) -> dict[str, str]:
    return token_for(client, "reviewer1")


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return token_for(client, "admin1")


def login(client: TestClient, username: str, next_url: str = "/staff/search") -> str:
    """Log in through the form (with its login CSRF cookie); returns the session's CSRF token."""
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post(
        "/staff/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1), "next": next_url},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get(next_url)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert csrf, page.text
    return csrf.group(1)
