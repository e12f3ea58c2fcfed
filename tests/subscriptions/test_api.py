"""`/api/subscriptions`, the `/subscribe` page and the staff console's subscription views, on SQLite and
PostgreSQL: validation against the project's lists (422 in Chinese), 404s, and 401 / login for staff."""

from __future__ import annotations

import re

import pytest

from tests.staff.conftest import login, token_for
from tests.subscriptions.conftest import publish_faq, run_round, subscribe_web

SENDER = "web-7a1c9e0b-taxpayer"


def test_subscribe_read_replace_and_unsubscribe(client) -> None:
    made = subscribe_web(client, SENDER, tax_types=["增值税", "个税"], taxpayer_types=["小规模"], region="京")
    assert made["tax_types"] == ["增值税", "个人所得税"] and made["taxpayer_types"] == ["小规模纳税人"]
    assert made["region"] == "北京市" and made["daily_limit"] == 2
    assert "税种：增值税、个人所得税" in made["description"]
    assert client.get("/api/subscriptions", params={"sender": SENDER}).json() == made
    replaced = subscribe_web(client, SENDER, tax_types=["企业所得税"])
    assert replaced["tax_types"] == ["企业所得税"] and replaced["region"] == "全国"
    assert replaced["taxpayer_types"] == []
    assert client.delete("/api/subscriptions", params={"sender": SENDER}).status_code == 204
    gone = client.get("/api/subscriptions", params={"sender": SENDER})
    assert gone.status_code == 404 and gone.json()["detail"] == "该对话没有政策订阅。"
    assert client.delete("/api/subscriptions", params={"sender": SENDER}).status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"tax_types": ["火星税"]}, ["未知税种：火星税", "增值税", "个人所得税"]),
        ({"taxpayer_types": ["外星人"]}, ["未知纳税人类型：外星人", "小规模纳税人", "一般纳税人"]),
        ({"region": "亚特兰蒂斯"}, ["未知地区：亚特兰蒂斯", "北京市", "深圳市"]),
        ({"sender": "wechat:oTaxpayer_openid_0001"}, ["网页订阅只接受网页对话的编号"]),
        ({"sender": "sms-0123456789abcdef01234567"}, ["网页订阅只接受网页对话的编号"]),
    ],
)
def test_unknown_values_are_refused_with_the_valid_ones(client, body, expected) -> None:
    response = client.post("/api/subscriptions", json={"sender": SENDER, **body})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert all(part in detail for part in expected), detail
    assert client.get("/api/subscriptions", params={"sender": SENDER}).status_code == 404  # nothing stored


def test_malformed_requests_are_422_never_500(client) -> None:
    assert client.post("/api/subscriptions", json={"tax_types": ["增值税"]}).status_code == 422  # no sender
    not_a_list = {"sender": SENDER, "tax_types": "增值税"}
    assert client.post("/api/subscriptions", json=not_a_list).status_code == 422
    assert client.post("/api/subscriptions", json={"sender": "x" * 129}).status_code == 422
    assert client.get("/api/subscriptions").status_code == 422
    assert client.get("/api/subscriptions", params={"sender": "wechat:o1"}).status_code == 422


def test_the_page_subscribes_and_cancels_without_script(client) -> None:
    page = client.get("/subscribe", params={"sender": SENDER})
    assert page.status_code == 200 and '<form method="post" action="/subscribe"' in page.text
    assert "<script" not in page.text and 'value="小规模纳税人"' in page.text and "北京市" in page.text
    assert page.headers["cache-control"] == "no-store"
    done = client.post("/subscribe", data={"sender": SENDER, "tax_types": ["增值税"], "region": "北京市"})
    assert done.status_code == 200 and "已订阅：税种：增值税" in done.text
    assert re.search(r'value="增值税" checked', done.text) and "取消订阅" in done.text
    assert client.get("/api/subscriptions", params={"sender": SENDER}).json()["region"] == "北京市"
    bad = client.post("/subscribe", data={"sender": SENDER, "tax_types": ["火星税"], "region": "北京市"})
    assert bad.status_code == 422 and "未知税种：火星税" in bad.text
    cancelled = client.post("/subscribe/cancel", data={"sender": SENDER})
    assert cancelled.status_code == 200 and "已取消政策订阅。" in cancelled.text
    assert client.get("/api/subscriptions", params={"sender": SENDER}).status_code == 404
    missing = client.get("/subscribe")
    assert missing.status_code == 400 and "缺少对话编号" in missing.text
    assert client.get("/subscribe", params={"sender": "wechat:o1"}).status_code == 400


def test_staff_see_counts_and_a_pseudonymised_push_log(client, agent, reviewer) -> None:
    subscribe_web(client, SENDER, tax_types=["增值税"], region="北京")
    subscribe_web(client, "web-second", tax_types=["增值税", "个人所得税"])
    publish_faq(client, agent, reviewer, question="增值税小规模纳税人的征收率是多少？", tax_types=["增值税"])
    assert run_round(client) == 2
    response = client.get("/api/staff/subscriptions", headers=agent)
    assert response.status_code == 200
    data = response.json()
    assert data["active"] == 2
    assert data["counts"]["tax_type"] == {"增值税": 2, "个人所得税": 1}
    assert data["counts"]["region"] == {"北京市": 1, "全国": 1} and data["counts"]["channel"] == {"web": 2}
    assert [p["status"] for p in data["pushes"]] == ["delivered", "delivered"]
    assert {p["title"] for p in data["pushes"]} == {"增值税小规模纳税人的征收率是多少？"}
    assert all(re.fullmatch(r"网页-[0-9a-f]{8}", p["to"]) for p in data["pushes"])
    assert SENDER not in response.text and "web-second" not in response.text
    only_failed = client.get("/api/staff/subscriptions", params={"status": "failed"}, headers=agent)
    assert only_failed.json()["pushes"] == []
    assert client.get("/api/staff/subscriptions", params={"limit": 0}, headers=agent).status_code == 422
    login(client, "agent1", "/staff/subscriptions")
    page = client.get("/staff/subscriptions")
    assert page.status_code == 200 and "当前有效订阅：2 个。" in page.text
    assert 'href="/staff/subscriptions"' in page.text and "已送达" in page.text
    assert SENDER not in page.text and "web-second" not in page.text


def test_staff_views_need_a_login(client) -> None:
    assert client.get("/api/staff/subscriptions").status_code == 401
    wrong = client.get("/api/staff/subscriptions", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    page = client.get("/staff/subscriptions", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/staff/login")
    for user in ("agent1", "reviewer1", "admin1"):  # agents and up
        headers = token_for(client, user)
        assert client.get("/api/staff/subscriptions", headers=headers).status_code == 200
