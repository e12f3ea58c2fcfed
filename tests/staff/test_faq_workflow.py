"""FAQ drafting, review, publication (searchable through the bot's retriever at once), versions, rollback
and withdrawal, through the API with bearer tokens — on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from taxbot.staff.accounts import StaffStore

QUESTION = "跨境电商零售出口免税备案怎么办理？"
DRAFT = {
    "question": QUESTION,
    "similar_questions": ["跨境电商出口免税要备案吗"],
    "answer": "跨境电商零售出口免税无需单独备案，按规定申报即可。咨询人电话13812345678。",
    "citations": [{"doc_id": "test-vat-law", "article": "第十一条"}],
    "tax_types": ["增值税"],
}


def search_ids(client: TestClient, headers: dict[str, str], q: str = QUESTION) -> list[str | None]:
    response = client.get("/api/staff/search", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return [h["faq_id"] for h in response.json()["hits"]]


def draft(client: TestClient, headers: dict[str, str], body: dict | None = None) -> dict:
    response = client.post("/api/staff/faqs", json=body or DRAFT, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_agent_drafts_reviewer_publishes_searchable_within_seconds(client, agent, reviewer, admin) -> None:
    created = draft(client, agent)
    assert created["status"] == "draft" and created["version"] == 1
    assert "13812345678" not in created["answer"] and "138****5678" in created["answer"]  # masked on input
    assert created["id"] not in search_ids(client, agent)  # drafts are not searchable

    forbidden = client.post(f"/api/staff/faqs/{created['id']}/approve", json={}, headers=agent)
    assert forbidden.status_code == 403  # agents cannot publish
    approved = client.post(f"/api/staff/faqs/{created['id']}/approve", json={}, headers=reviewer)
    assert approved.status_code == 200 and approved.json()["status"] == "published"
    started = time.monotonic()
    while created["id"] not in search_ids(client, agent):
        assert time.monotonic() - started < 5, "published FAQ not searchable within 5 s"
        time.sleep(0.2)
    hit = client.get("/api/staff/search", params={"q": QUESTION}, headers=agent).json()["hits"][0]
    assert hit["kind"] == "faq" and hit["faq_id"] == created["id"]
    assert (
        hit["citations"][0]["link"] == "/documents/test-vat-law?article=%E7%AC%AC%E5%8D%81%E4%B8%80%E6%9D%A1"
    )
    assert hit["copy_text"].endswith("依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条")
    kb = client.get(f"/api/kb/search?q={QUESTION}").json()["hits"]  # the bot's public search sees it too
    assert kb[0]["kind"] == "faq" and kb[0]["faq_id"] == created["id"]

    audit = client.get("/api/staff/audit", headers=admin).json()
    actions = [(r["actor"], r["action"], r["before"], r["after"]) for r in audit if r["key"] == created["id"]]
    assert ("agent1", "draft_faq", "", "v1") in actions
    assert ("reviewer1", "publish_faq", "v1", "v2") in actions


def test_reject_with_comment_then_edit_and_publish(client, agent, reviewer) -> None:
    created = draft(client, agent)
    assert (
        client.post(f"/api/staff/faqs/{created['id']}/reject", json={}, headers=reviewer).status_code == 422
    )
    assert (
        client.post(
            f"/api/staff/faqs/{created['id']}/reject", json={"comment": "x"}, headers=agent
        ).status_code
        == 403
    )
    rejected = client.post(
        f"/api/staff/faqs/{created['id']}/reject",
        json={"comment": "依据条款不对，请改引第十条"},
        headers=reviewer,
    )
    assert rejected.status_code == 200
    assert rejected.json()["review"]["decision"] == "rejected"
    shown = client.get(f"/api/staff/faqs/{created['id']}", headers=agent).json()
    assert shown["status"] == "draft" and shown["review"]["comment"] == "依据条款不对，请改引第十条"
    edited = client.put(
        f"/api/staff/faqs/{created['id']}",
        json={**DRAFT, "citations": [{"doc_id": "test-vat-law", "article": "第十条"}]}, headers=agent,
    )  # fmt: skip
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["review"] is None
    assert (
        client.post(f"/api/staff/faqs/{created['id']}/approve", json={}, headers=reviewer).status_code == 200
    )
    again = client.put(f"/api/staff/faqs/{created['id']}", json=DRAFT, headers=agent)
    assert again.status_code == 409  # published entries are not edited in place


def test_versions_rollback_and_withdraw(client, agent, reviewer) -> None:
    created = draft(client, agent)
    faq = created["id"]
    client.post(f"/api/staff/faqs/{faq}/approve", json={}, headers=reviewer)
    assert faq in search_ids(client, agent)
    withdrawn = client.post(f"/api/staff/faqs/{faq}/withdraw", headers=reviewer)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert faq not in search_ids(client, agent)  # removed from search at once
    assert client.post(f"/api/staff/faqs/{faq}/withdraw", headers=reviewer).status_code == 409
    versions = client.get(f"/api/staff/faqs/{faq}/versions", headers=agent).json()
    assert [(v["version"], v["status"]) for v in versions] == [
        (1, "draft"),
        (2, "published"),
        (3, "withdrawn"),
    ]
    assert (
        client.post(f"/api/staff/faqs/{faq}/rollback", json={"version": 2}, headers=agent).status_code == 403
    )
    rolled = client.post(f"/api/staff/faqs/{faq}/rollback", json={"version": 2}, headers=reviewer)
    assert (
        rolled.status_code == 200 and rolled.json()["version"] == 4 and rolled.json()["status"] == "published"
    )
    assert faq in search_ids(client, agent)
    assert (
        client.post(f"/api/staff/faqs/{faq}/rollback", json={"version": 9}, headers=reviewer).status_code
        == 404
    )
    assert (
        client.post(f"/api/staff/faqs/{faq}/rollback", json={"version": 0}, headers=reviewer).status_code
        == 422
    )


def test_withdraw_document_removes_it_from_search(client, agent, reviewer, staff: StaffStore) -> None:
    q = "北京市个人出租住房房产税"
    params = {"q": q, "region": "北京市"}
    before = client.get("/api/staff/search", params=params, headers=agent).json()["hits"]
    assert "test-bj-property" in [h["doc_id"] for h in before]
    assert client.post("/api/staff/documents/test-bj-property/withdraw", headers=agent).status_code == 403
    assert client.post("/api/staff/documents/test-bj-property/withdraw", headers=reviewer).status_code == 204
    after = client.get("/api/staff/search", params=params, headers=agent).json()["hits"]
    assert "test-bj-property" not in [h["doc_id"] for h in after if h["kind"] == "article"]
    assert client.post("/api/staff/documents/test-bj-property/withdraw", headers=reviewer).status_code == 409
    assert client.post("/api/staff/documents/no-such-doc/withdraw", headers=reviewer).status_code == 404
    rows = staff.audit_log(kind="document", key="test-bj-property")
    assert rows[0]["actor"] == "reviewer1" and rows[0]["action"] == "withdraw_document"


def test_bad_drafts_are_422_and_unknown_ids_404(client, agent, reviewer) -> None:
    for body in (
        {**DRAFT, "question": " "},
        {**DRAFT, "answer": ""},
        {**DRAFT, "region": "火星市"},
        {**DRAFT, "valid_from": "2026-12-01", "valid_to": "2026-01-01"},
        {**DRAFT, "citations": [{"doc_id": "no-such-doc", "article": "第一条"}]},
        {**DRAFT, "valid_from": "someday"},
    ):
        response = client.post("/api/staff/faqs", json=body, headers=agent)
        assert response.status_code == 422, body
    assert client.get("/api/staff/faqs/nope", headers=agent).status_code == 404
    assert client.post("/api/staff/faqs/nope/approve", json={}, headers=reviewer).status_code == 404
    assert client.get("/api/staff/faqs/nope/versions", headers=agent).status_code == 404
    drafts = client.get("/api/staff/faqs", params={"status": "draft"}, headers=agent).json()
    assert drafts == []
    assert client.get("/api/staff/faqs", params={"status": "bogus"}, headers=agent).status_code == 422
