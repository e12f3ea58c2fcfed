"""Accounts, login, sessions, CSRF and roles through the real app and a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from taxbot.staff.accounts import StaffError, StaffStore
from taxbot.staff.auth import COOKIE
from taxbot.staff.config import StaffSettings
from tests.staff.conftest import PASSWORD, login, token_for

API_GETS = [
    "/api/staff/me",
    "/api/staff/search?q=个税",
    "/api/staff/faqs",
    "/api/staff/users",
    "/api/staff/audit",
]
PAGES = ["/staff", "/staff/search", "/staff/faqs", "/staff/faqs/new", "/staff/uploads", "/staff/audit"]


@pytest.mark.parametrize("path", API_GETS)
def test_api_needs_a_token(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get(path, headers={"Authorization": "Bearer stf_forged"}).status_code == 401


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_browsers_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login?next=")


def test_state_changing_api_calls_need_auth(client: TestClient) -> None:
    assert client.post("/api/staff/faqs", json={"question": "问题", "answer": "答案"}).status_code == 401
    assert client.post("/api/staff/faqs/faq-test-iit-threshold/withdraw").status_code == 401
    assert client.post("/api/staff/documents/test-vat-law/withdraw").status_code == 401


def test_token_for_wrong_password_or_disabled_user(client: TestClient, staff: StaffStore) -> None:
    wrong = client.post("/api/staff/tokens", json={"username": "agent1", "password": "nope-nope"})
    assert wrong.status_code == 401
    assert (
        client.post("/api/staff/tokens", json={"username": "ghost", "password": PASSWORD}).status_code == 401
    )
    assert client.post("/api/staff/tokens", json={"username": "agent1"}).status_code == 422
    headers = token_for(client, "agent1")
    assert client.get("/api/staff/me", headers=headers).json()["role"] == "agent"
    staff.set_active("agent1", False, actor="admin1")
    assert client.get("/api/staff/me", headers=headers).status_code == 401  # tokens end with the account
    assert (
        client.post("/api/staff/tokens", json={"username": "agent1", "password": PASSWORD}).status_code == 401
    )


def test_tokens_and_passwords_are_stored_hashed(client: TestClient, staff: StaffStore) -> None:
    token = token_for(client, "admin1")["Authorization"].split()[1]
    with staff.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("staff_users", "staff_tokens")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )
    assert token not in dump and PASSWORD not in dump
    assert "$argon2id$" in dump


def test_admin_only_endpoints(client: TestClient, agent, reviewer, admin) -> None:
    for path in ("/api/staff/users", "/api/staff/audit"):
        assert client.get(path, headers=agent).status_code == 403
        assert client.get(path, headers=reviewer).status_code == 403
        assert client.get(path, headers=admin).status_code == 200
    names = {u["username"]: u["role"] for u in client.get("/api/staff/users", headers=admin).json()}
    assert names == {"agent1": "agent", "reviewer1": "reviewer", "admin1": "admin"}


def test_login_sets_a_hardened_session_cookie(client: TestClient) -> None:
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/staff/login", data={"username": "agent1", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/staff/search"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Max-Age=" in cookie
    assert client.get("/staff/search").status_code == 200


def test_login_rejects_wrong_password_and_missing_login_csrf(client: TestClient) -> None:
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    wrong = client.post(
        "/staff/login", data={"username": "agent1", "password": "bad-password", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    client.cookies.clear()
    forged = client.post(
        "/staff/login", data={"username": "agent1", "password": PASSWORD, "csrf_token": token}
    )
    assert forged.status_code == 403
    assert COOKIE not in client.cookies


def test_open_redirect_after_login_is_refused(client: TestClient) -> None:
    page = client.get("/staff/login?next=https://evil.example/")
    assert 'name="next" value="/staff/search"' in page.text


def test_session_forms_need_the_csrf_token(client: TestClient) -> None:
    csrf = login(client, "reviewer1")
    no_token = client.post("/staff/faqs/faq-test-iit-threshold/withdraw", data={}, follow_redirects=False)
    assert no_token.status_code == 403
    wrong = client.post("/staff/faqs/faq-test-iit-threshold/withdraw", data={"csrf_token": "x" * 40})
    assert wrong.status_code == 403
    api = client.post("/api/staff/faqs/faq-test-iit-threshold/withdraw")  # cookie-authenticated JSON call
    assert api.status_code == 403
    ok = client.post(
        "/staff/faqs/faq-test-iit-threshold/withdraw", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    header = client.post("/api/staff/faqs/faq-test-iit-threshold/withdraw", headers={"X-CSRF-Token": csrf})
    assert header.status_code == 409  # passed CSRF; withdrawn already


def test_forged_session_cookie_and_logout(client: TestClient) -> None:
    csrf = login(client, "agent1")
    session = client.cookies[COOKIE]
    client.cookies.clear()
    client.cookies.set(COOKIE, session[:-3] + "abc")
    assert client.get("/staff/search", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(COOKIE, session)
    assert client.post("/staff/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, session)  # the server-side session row is gone
    assert client.get("/staff/search", follow_redirects=False).status_code == 303


def test_agent_pages_hide_admin_pages(client: TestClient) -> None:
    login(client, "agent1")
    assert client.get("/staff/audit").status_code == 403
    assert 'href="/staff/audit"' not in client.get("/staff/search").text


def test_account_rules(staff: StaffStore) -> None:
    with pytest.raises(StaffError, match="exists already"):
        staff.add_user("agent1", PASSWORD, staff.get_user("agent1").role)
    with pytest.raises(StaffError, match="at least 8"):
        staff.add_user("newbie", "short", staff.get_user("agent1").role)
    with pytest.raises(StaffError, match="bad user name"):
        staff.add_user("a b", PASSWORD, staff.get_user("agent1").role)
    with pytest.raises(StaffError, match="no user"):
        staff.set_active("ghost", False)


def test_default_secret_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="TAXBOT_STAFF_SECRET_KEY"):
        StaffSettings(environment="production")
    assert StaffSettings(environment="production", secret_key="s" * 40).environment == "production"
    assert StaffSettings().environment == "development"
