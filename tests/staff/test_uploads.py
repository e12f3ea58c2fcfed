"""Regulation upload: parsed into a pending review, corrected and published by a reviewer, then searchable;
bad files get a clear message and leave nothing behind."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from knowledge_base.store import KnowledgeStore
from tests.staff.conftest import login

# a made-up local rule, written for this test
REGULATION = """某某市车船税测试办法

第一条 为规范本市新能源货车车船税征收管理，制定本办法。
第二条 本市登记的新能源货车，车船税按年申报，每辆每年减按六十元征收。
第三条 本办法自2026年10月1日起施行。
""".encode()


def upload(client: TestClient, headers: dict[str, str], name: str, data: bytes, region: str = ""):
    return client.post(
        "/api/staff/uploads", files={"file": (name, data, "application/octet-stream")},
        data={"region": region}, headers=headers,
    )  # fmt: skip


def uploads_count(store: KnowledgeStore) -> int:
    with store.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM staff_uploads")).scalar_one()


def test_upload_review_publish_then_searchable(client, agent, reviewer, store: KnowledgeStore) -> None:
    response = upload(client, agent, "车船税办法.txt", REGULATION)
    assert response.status_code == 201, response.text
    pending = response.json()
    assert pending["status"] == "pending" and pending["document"]["articles"] == 3
    assert "doc_number" in pending["undetermined"]  # no 文号 in the file: flagged for the reviewer
    doc_id = pending["document"]["id"]
    assert store.get_document(doc_id) is None  # nothing in the knowledge base before review
    query = {"q": "新能源货车车船税每辆每年减按六十元", "region": "广州市"}
    assert doc_id not in [
        h["doc_id"] for h in client.get("/api/staff/search", params=query, headers=agent).json()["hits"]
    ]

    review = {
        "id": "gz-ccs-test-2026", "title": "广州市车船税测试办法", "doc_number": "穗测试〔2026〕7号",
        "issuer": "广州市税务局", "doc_type": "规范性文件", "region": "广州市", "effective": "2026-10-01",
        "status": "有效", "tax_types": ["车船税"],
    }  # fmt: skip
    upload_id = pending["id"]
    assert (
        client.post(f"/api/staff/uploads/{upload_id}/publish", json=review, headers=agent).status_code == 403
    )
    bad = client.post(
        f"/api/staff/uploads/{upload_id}/publish", json={**review, "region": "火星"}, headers=reviewer
    )
    assert bad.status_code == 422
    published = client.post(f"/api/staff/uploads/{upload_id}/publish", json=review, headers=reviewer)
    assert published.status_code == 200 and published.json() == {
        "id": "gz-ccs-test-2026", "title": "广州市车船税测试办法", "articles": 3,
    }  # fmt: skip
    doc = store.get_document("gz-ccs-test-2026")
    assert doc.doc_number == "穗测试〔2026〕7号" and doc.region == "广州市"
    assert all(a.doc_id == "gz-ccs-test-2026" for a in doc.articles)
    hits = client.get("/api/staff/search", params=query, headers=agent).json()["hits"]
    assert hits[0]["doc_id"] == "gz-ccs-test-2026" and hits[0]["doc_number"] == "穗测试〔2026〕7号"
    again = client.post(f"/api/staff/uploads/{upload_id}/publish", json=review, headers=reviewer)
    assert again.status_code == 409


def test_bad_files_get_a_clear_message_and_nothing_is_saved(client, agent, store: KnowledgeStore) -> None:
    docs_before = len(store.list_documents(include_withdrawn=True))
    cases = [
        ("virus.exe", b"MZ\x90\x00", "不支持的文件类型"),
        ("empty.txt", b"", "文件为空"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "无法解析文件"),
        ("broken.docx", b"PK\x03\x04 not a zip", "无法解析文件"),
        ("title-only.txt", "只有标题".encode(), "无法解析文件"),
        ("huge.txt", REGULATION * 4000, "文件过大"),
    ]
    for name, data, message in cases:
        response = upload(client, agent, name, data)
        assert response.status_code == 422, (name, response.text)
        assert message in response.json()["detail"], (name, response.text)
        assert "/tmp" not in response.json()["detail"]  # no server paths in messages
    assert uploads_count(store) == 0
    assert len(store.list_documents(include_withdrawn=True)) == docs_before
    assert client.post("/api/staff/uploads", headers=agent).status_code == 422  # no file at all
    assert client.get("/api/staff/uploads/nope", headers=agent).status_code == 404


def test_upload_pages_highlight_undetermined_fields_and_publish(client, store: KnowledgeStore) -> None:
    csrf = login(client, "reviewer1", "/staff/uploads")
    no_csrf = client.post("/staff/uploads", files={"file": ("a.txt", REGULATION)}, follow_redirects=False)
    assert no_csrf.status_code == 403 and uploads_count(store) == 0
    bad = client.post("/staff/uploads", files={"file": ("a.exe", b"MZ")}, data={"csrf_token": csrf})
    assert bad.status_code == 422 and "不支持的文件类型" in bad.text
    sent = client.post(
        "/staff/uploads",
        files={"file": ("a.txt", REGULATION)},
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    review = client.get(sent.headers["location"])
    assert 'class="undetermined"' in review.text and "文号: not found" in review.text
    form = dict(re.findall(r'<input id="f-[a-z_]+" name="([a-z_]+)" type="\w+" value="([^"]*)"', review.text))
    form |= {
        "csrf_token": csrf,
        "region": "广州市",
        "doc_type": "规范性文件",
        "status": "有效",
        "title": "某某市车船税测试办法",
    }
    wrong = client.post(sent.headers["location"] + "/publish", data={**form, "effective": "2026-99-01"})
    assert wrong.status_code == 422 and "effective" in wrong.text
    done = client.post(sent.headers["location"] + "/publish", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/staff/search?q=")
    assert store.get_document(form["id"]).region == "广州市"
