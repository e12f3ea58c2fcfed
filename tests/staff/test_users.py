"""User management (admins) through the real app on SQLite and PostgreSQL: the JSON API, the /staff/users
forms with CSRF, the last-admin rule, the audit trail and the audit log's CSV export."""

from __future__ import annotations

import csv
import io
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from taxbot.staff.accounts import StaffStore
from tests.staff.conftest import login

STRONG = "Lantern-orbit-47-quiet"


def test_admin_creates_changes_disables_and_resets(client: TestClient, staff: StaffStore, admin) -> None:
    body = {"username": "clerk7", "role": "agent", "password": STRONG}
    created = client.post("/api/staff/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json() | {"created_at": None} == {
        "username": "clerk7", "role": "agent", "active": True, "created_at": None, "last_login": None,
    }  # fmt: skip
    clerk = client.post("/api/staff/tokens", json={"username": "clerk7", "password": STRONG})
    assert clerk.status_code == 201
    listed = {u["username"]: u for u in client.get("/api/staff/users", headers=admin).json()}
    assert (
        listed["clerk7"]["last_login"] is None and listed["admin1"]["last_login"] is None
    )  # tokens: no login

    promoted = client.patch("/api/staff/users/clerk7", json={"role": "reviewer"}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["role"] == "reviewer"
    disabled = client.patch("/api/staff/users/clerk7", json={"active": False}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    headers = {"Authorization": f"Bearer {clerk.json()['token']}"}
    assert client.get("/api/staff/me", headers=headers).status_code == 401  # its token ended with it
    assert client.patch("/api/staff/users/clerk7", json={"active": True}, headers=admin).status_code == 200
    assert client.post("/api/staff/users/clerk7/password", json={"password": "Another-long-kettle-93"},
                       headers=admin).status_code == 204  # fmt: skip
    assert (
        client.post("/api/staff/tokens", json={"username": "clerk7", "password": STRONG}).status_code == 401
    )
    renewed = client.post(
        "/api/staff/tokens", json={"username": "clerk7", "password": "Another-long-kettle-93"}
    )
    assert renewed.status_code == 201

    trail = [
        (r["actor"], r["action"], r["before"], r["after"]) for r in staff.audit_log(kind="user", key="clerk7")
    ]
    assert trail == [
        ("clerk7", "create_token", "", ""), ("admin1", "reset_password", "", ""),
        ("admin1", "enable_user", "False", "True"), ("admin1", "disable_user", "True", "False"),
        ("admin1", "change_role", "agent", "reviewer"), ("clerk7", "create_token", "", ""),
        ("admin1", "add_user", "", "agent"),
    ]  # fmt: skip


def test_weak_passwords_bad_names_and_duplicates(client: TestClient, admin) -> None:
    cases = [
        ({"username": "clerk8", "role": "agent", "password": "short1"}, 422, "太短"),
        ({"username": "clerk8", "role": "agent", "password": "password123456"}, 422, "容易被猜到"),
        ({"username": "clerk8", "role": "agent", "password": "clerk8-Lantern-77"}, 422, "用户名"),
        ({"username": "a b", "role": "agent", "password": STRONG}, 422, "用户名"),
        ({"username": "agent1", "role": "agent", "password": STRONG}, 409, "已存在"),
    ]
    for body, status, needle in cases:
        response = client.post("/api/staff/users", json=body, headers=admin)
        assert response.status_code == status and needle in response.json()["detail"], (body, response.text)
    assert client.post("/api/staff/users", json={"username": "x1", "role": "boss", "password": STRONG},
                       headers=admin).status_code == 422  # fmt: skip
    assert client.patch("/api/staff/users/ghost", json={"active": False}, headers=admin).status_code == 404
    assert client.patch("/api/staff/users/agent1", json={}, headers=admin).status_code == 422
    weak = client.post("/api/staff/users/agent1/password", json={"password": "qwertyuiop"}, headers=admin)
    assert weak.status_code == 422 and "容易被猜到" in weak.json()["detail"]
    assert (
        client.post("/api/staff/users/ghost/password", json={"password": STRONG}, headers=admin).status_code
        == 404
    )


def test_the_last_admin_stays(client: TestClient, staff: StaffStore, admin) -> None:
    for change in ({"active": False}, {"role": "reviewer"}):
        refused = client.patch("/api/staff/users/admin1", json=change, headers=admin)
        assert refused.status_code == 409 and "最后一个" in refused.json()["detail"]
    assert staff.get_user("admin1").active
    client.patch("/api/staff/users/reviewer1", json={"role": "admin"}, headers=admin)
    demoted = client.patch("/api/staff/users/admin1", json={"role": "agent"}, headers=admin)
    assert demoted.status_code == 200 and demoted.json()["role"] == "agent"
    assert client.get("/api/staff/users", headers=admin).status_code == 403  # takes effect at once


def test_user_endpoints_need_an_admin(client: TestClient, agent, reviewer) -> None:
    calls = [
        ("get", "/api/staff/users", None),
        ("post", "/api/staff/users", {"username": "zz", "role": "agent", "password": STRONG}),
        ("patch", "/api/staff/users/agent1", {"active": False}),
        ("post", "/api/staff/users/agent1/password", {"password": STRONG}),
        ("get", "/api/staff/audit.csv", None),
    ]
    for method, path, body in calls:
        assert client.request(method, path, json=body).status_code == 401, path
        for headers in (agent, reviewer):
            assert client.request(method, path, json=body, headers=headers).status_code == 403, path


def test_users_page_forms_with_csrf(app: FastAPI, staff: StaffStore) -> None:
    with TestClient(app) as browser, TestClient(app) as agent:
        csrf = login(browser, "admin1", "/staff/users")
        page = browser.get("/staff/users")
        assert page.status_code == 200 and 'id="user-agent1"' in page.text and "从未登录" in page.text
        form = {"username": "desk9", "role": "reviewer", "password": STRONG}
        assert browser.post("/staff/users", data=form).status_code == 403  # no CSRF token
        weak = browser.post("/staff/users", data={**form, "password": "12345678901", "csrf_token": csrf})
        assert weak.status_code == 422 and "容易被猜到" in weak.text and 'value="desk9"' in weak.text
        done = browser.post("/staff/users", data={**form, "csrf_token": csrf}, follow_redirects=False)
        assert done.status_code == 303 and staff.get_user("desk9").role == "reviewer"
        assert "已创建用户 desk9" in browser.get(done.headers["location"]).text
        role = browser.post("/staff/users/desk9/role", data={"role": "agent", "csrf_token": csrf})
        assert role.status_code == 200 and staff.get_user("desk9").role == "agent"
        off = browser.post("/staff/users/desk9/active", data={"active": "false", "csrf_token": csrf})
        assert "已停用 desk9" in off.text and not staff.get_user("desk9").active
        last = browser.post("/staff/users/admin1/active", data={"active": "false", "csrf_token": csrf})
        assert last.status_code == 409 and "最后一个" in last.text
        reset = browser.post("/staff/users/agent1/password", data={"password": STRONG, "csrf_token": csrf})
        assert "已重置 agent1 的密码" in reset.text
        assert re.search(r'id="user-admin1">(?:(?!</tr>).)*\d{4}-\d\d-\d\d \d\d:\d\d', reset.text, re.S)
        login(agent, "reviewer1", "/staff/search")
        assert agent.get("/staff/users", follow_redirects=False).status_code == 403
    with TestClient(app) as anonymous:
        assert anonymous.get("/staff/users", follow_redirects=False).status_code == 303


def test_audit_log_csv(client: TestClient, app: FastAPI, staff: StaffStore, admin) -> None:
    staff.audit("admin1", "note", "faq", "=HYPERLINK(1)", detail={"comment": "来电 13812345678"})
    response = client.get("/api/staff/audit.csv?limit=3", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.content.startswith(b"\xef\xbb\xbf") and "audit-" in response.headers["content-disposition"]
    )
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == ["时间（UTC）", "操作人", "操作", "对象类型", "对象", "变更前", "变更后", "详情"]
    assert len(rows) == 3 and rows[0][1:5] == ["admin1", "note", "faq", "'=HYPERLINK(1)"]  # no formula
    assert rows[0][7] == "comment=来电 138****5678" and "13812345678" not in response.text
    assert client.get("/api/staff/audit.csv?limit=0", headers=admin).status_code == 422
    with TestClient(app) as browser:
        login(browser, "admin1", "/staff/audit")
        assert 'href="/staff/audit.csv"' in browser.get("/staff/audit").text
        page_csv = browser.get("/staff/audit.csv")
        assert page_csv.status_code == 200 and page_csv.content.startswith(b"\xef\xbb\xbf")
