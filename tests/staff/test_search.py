"""The agents' search API and page: the bot's retriever with filters, FAQ hits first, text masked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.staff.conftest import login


def hits(client: TestClient, headers: dict[str, str], **params: object) -> list[dict]:
    response = client.get("/api/staff/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def test_faq_first_with_metadata_and_links(client, agent) -> None:
    found = hits(client, agent, q="个税起征点是多少")
    assert found[0]["kind"] == "faq" and found[0]["faq_id"] == "faq-test-iit-threshold"
    articles = [h for h in found if h["kind"] == "article"]
    assert all(h["kind"] == "faq" for h in found[: len(found) - len(articles)])
    iit = hits(client, agent, q="居民个人综合所得减除费用六万元")
    article = next(h for h in iit if h["kind"] == "article")
    assert article["doc_number"] == "主席令第九号" and article["effective"] == "2019-01-01"
    assert article["link"].startswith("/documents/test-iit-law?article=")
    assert article["applicability"] == "national" and article["status"] == "有效"


def test_region_filter_never_shows_other_regions(client, agent) -> None:
    bj = hits(client, agent, q="个人出租住房房产税", region="北京市")
    assert "test-bj-property" in {h["doc_id"] for h in bj}
    assert "test-sh-property" not in {h["doc_id"] for h in bj}
    national = hits(client, agent, q="个人出租住房房产税")
    assert not {"test-bj-property", "test-sh-property"} & {h["doc_id"] for h in national}


def test_doc_type_and_as_of_filters(client, agent) -> None:
    none = hits(client, agent, q="增值税征收率百分之三", doc_type="司法解释")
    assert [h for h in none if h["kind"] == "article"] == []
    before = hits(client, agent, q="增值税征收率百分之三 小规模纳税人", as_of="2020-06-01")
    assert "test-vat-law" not in {h["doc_id"] for h in before if h["kind"] == "article"}  # not in force yet
    history = hits(client, agent, q="增值税征收率百分之三 小规模纳税人", as_of="2020-06-01", history=True)
    old = [h for h in history if h["doc_id"] == "test-vat-law"]
    assert old and old[0]["applicability"] == "historical"


def test_bad_parameters_are_422(client, agent) -> None:
    for params in (
        {"q": ""},
        {"q": "个税", "region": "火星"},
        {"q": "个税", "as_of": "2026-13-01"},
        {"q": "x", "k": 0},
    ):
        assert client.get("/api/staff/search", params=params, headers=agent).status_code == 422, params


def test_search_page_renders_filters_results_and_masks(client) -> None:
    login(client, "agent1")
    masked = client.get("/staff/search", params={"q": "个税起征点 电话13812345678"})
    assert masked.status_code == 200 and "138****5678" in masked.text
    assert "13812345678" not in masked.text  # the echoed query is masked too
    page = client.get("/staff/search", params={"q": "个税起征点是多少", "region": "北京市"})
    assert 'data-copy="' in page.text and "faq-test-iit-threshold" in page.text
    assert '<option value="北京市" selected>' in page.text
    bad = client.get("/staff/search", params={"q": "个税", "as_of": "nope"})
    assert bad.status_code == 422 and "bad as_of" in bad.text
