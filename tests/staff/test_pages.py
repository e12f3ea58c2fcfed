"""The console's forms end to end in the test client: an agent drafts, a reviewer rejects, approves, rolls
back; the admin reads the audit log. Taxpayer identifiers never appear unmasked."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.staff.conftest import login

FORM = {
    "question": "新能源车船税测试问题，身份证110101199003071234怎么办？",
    "similar_questions": "新能源车要交车船税吗\n电动车车船税",
    "answer": "按测试规定处理，详询 13912345678。",
    "citations": "test-vat-law#第十一条",
    "region": "全国",
    "tax_types": "车船税、增值税",
    "valid_from": "2026-01-01",
    "valid_to": "",
}


def faq_id_of(location: str) -> str:
    match = re.fullmatch(r"/staff/faqs/([\w\-]+)", location)
    assert match, location
    return match.group(1)


def test_draft_review_publish_rollback_through_forms(app) -> None:
    with TestClient(app) as agent, TestClient(app) as reviewer, TestClient(app) as admin:
        a_csrf = login(agent, "agent1", "/staff/faqs/new")
        bad = agent.post("/staff/faqs/new", data={**FORM, "question": "", "csrf_token": a_csrf})
        assert bad.status_code == 422
        invalid = agent.post("/staff/faqs/new", data={**FORM, "region": "火星", "csrf_token": a_csrf})
        assert invalid.status_code == 422 and "unknown region" in invalid.text
        created = agent.post("/staff/faqs/new", data={**FORM, "csrf_token": a_csrf}, follow_redirects=False)
        assert created.status_code == 303
        faq = faq_id_of(created.headers["location"])
        page = agent.get(f"/staff/faqs/{faq}")
        assert "草稿（待审核）" in page.text and 'id="approve"' not in page.text  # agents cannot approve
        assert agent.post(f"/staff/faqs/{faq}/approve", data={"csrf_token": a_csrf}).status_code == 403

        r_csrf = login(reviewer, "reviewer1", "/staff/faqs")
        assert faq in reviewer.get("/staff/faqs").text
        rejected = reviewer.post(
            f"/staff/faqs/{faq}/reject", data={"csrf_token": r_csrf, "comment": "请补充依据"}
        )
        assert rejected.status_code == 200 and "审核未通过" in rejected.text and "请补充依据" in rejected.text
        edit = agent.get(f"/staff/faqs/{faq}/edit")
        assert "test-vat-law#第十一条" in edit.text
        edited = agent.post(
            f"/staff/faqs/{faq}/edit",
            data={**FORM, "citations": "test-vat-law#第十条", "csrf_token": a_csrf}, follow_redirects=False,
        )  # fmt: skip
        assert edited.status_code == 303
        approved = reviewer.post(f"/staff/faqs/{faq}/approve", data={"csrf_token": r_csrf})
        assert approved.status_code == 200 and "已发布" in approved.text
        rolled = reviewer.post(f"/staff/faqs/{faq}/rollback", data={"csrf_token": r_csrf, "version": "1"})
        assert rolled.status_code == 200 and "v4" in rolled.text
        withdrawn = reviewer.post(f"/staff/faqs/{faq}/withdraw", data={"csrf_token": r_csrf})
        assert "已撤下" in withdrawn.text

        for page in (
            agent.get(f"/staff/faqs/{faq}"),
            agent.get("/staff/faqs"),
            reviewer.get(f"/staff/faqs/{faq}"),
        ):
            assert "110101199003071234" not in page.text and "13912345678" not in page.text
            assert "11**************34" in page.text or "139****5678" in page.text

        login(admin, "admin1", "/staff/audit")
        audit = admin.get("/staff/audit").text
        for action in ("draft_faq", "reject_faq", "edit_faq", "publish_faq", "rollback_faq", "withdraw_faq"):
            assert action in audit, action
        assert re.search(
            r"<td>reviewer1</td><td>publish_faq</td><td>faq:" + faq + r"</td><td>v2</td><td>v3</td>", audit
        )


def test_search_page_links_to_drafting_with_the_citation(client) -> None:
    login(client, "agent1")
    page = client.get("/staff/search", params={"q": "小规模纳税人增值税征收率百分之三"})
    assert "/documents/test-vat-law?article=" in page.text
    link = re.search(r'href="(/staff/faqs/new\?cite=[^"]+)"', page.text).group(1)
    form = client.get(link.replace("&amp;", "&"))
    assert "test-vat-law#第十一条" in form.text


def test_static_assets_and_security_headers(client) -> None:
    assert client.get("/staff/static/staff.js").headers["content-type"].startswith("application/javascript")
    assert client.get("/staff/static/nope.js").status_code == 404
    login(client, "agent1")
    page = client.get("/staff/search")
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "cdn" not in page.text.lower() and "https://" not in page.text
