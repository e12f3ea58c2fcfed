"""数据分析 through the real app on SQLite and PostgreSQL: conversations written with the real
ConversationStore (clock set per exchange), figures asserted exactly, filters, roles, bad input, CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from index.builder import build_from_store
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from knowledge_base.store import KnowledgeStore
from taxbot.app import create_app
from taxbot.conversations import ConversationStore, TurnSummary
from taxbot.conversations import store as conversation_store
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.analytics_tax import pseudonym
from taxbot.staff.config import StaffSettings
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS
from tests.staff.conftest import login, mount_staff

RANGE = "start=2026-11-02&end=2026-11-15"  # two weeks: Monday 2026-11-02 and Monday 2026-11-09
WEEK1, WEEK2 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC), datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
IIT_FAQ = "faq:faq-test-iit-threshold"
TAX_TYPES = {"test-vat-law": ("增值税",), "test-bj-property": ("房产税",), "test-iit-law": ("个人所得税",)}
RAW_QUESTION = "身份证110101199003071234的个税"  # as if stored before masking existed
TABLES = ("overview", "unanswered", "unhelpful", "low-ratings", "hot")


@pytest.fixture
def app(store: KnowledgeStore, staff, tmp_path: Path) -> FastAPI:
    """The staff app whose conversation store is the knowledge store's database (as in production)."""
    store.upsert_documents(dataclasses.replace(d, tax_types=TAX_TYPES.get(d.id, ())) for d in TEST_DOCUMENTS)
    store.upsert_faq(dataclasses.replace(TEST_FAQS[0], tax_types=("个人所得税",)))
    url = store.engine.url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, database_url=url, rasa_url="http://127.0.0.1:9", rasa_timeout=1.0)
    root = tmp_path / "index"
    retriever, _ = build_from_store(store, HashingEncoder(256), root)
    following = FollowingRetriever(retriever, store, root=root, interval=0.0)
    app = create_app(settings, Services(settings=settings, retriever=following, store=store))
    app.state.staff_settings = StaffSettings()
    return mount_staff(app)


class Clock:
    def __init__(self) -> None:
        self.now = WEEK1

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def conversations(store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConversationStore]:
    """Two weeks of conversations: week 1 asks 4 questions (3 answered), week 2 asks 3 (1 answered)."""
    clock = Clock()
    monkeypatch.setattr(conversation_store, "_now", clock)
    log = ConversationStore(store.engine)

    def say(cid: str, text: str, kind: str = "", sources=(), region="全国", **more) -> None:
        log.record_exchange(
            cid, text, TurnSummary("答复", answer_kind=kind, sources=sources, region=region, **more)
        )

    say("web-a", "个税起征点是多少？", "faq", (IIT_FAQ,))
    say("wechat:oABCDEF123", "个税起征点是多少", "faq", (IIT_FAQ,))
    say(
        "wechat:oABCDEF123", "/feedback_negative", "feedback", feedback={"kind": "negative", "region": "全国"}
    )
    say("sms-p9", "我的手机13812345678能开专票吗", "none", region="北京市")
    log.enqueue("sms-p9", "request")
    say("web-b", "北京出租房子房产税怎么交", "clarify")
    say("web-b", '/inform_region{"region": "北京市"}', "article", ("test-bj-property#第三条",), "北京市")
    say("web-b", '/rate{"rating": 2}', "rating", region="北京市", rating=2)
    clock.now = WEEK2
    say("web-c", "你好")
    say("web-c", "增值税小规模纳税人征收率是多少", "article", ("test-vat-law#第十一条",))
    say("web-c", '/rate{"rating": 5}', "rating", rating=5)
    say("wechat:oXYZ", "印花税怎么交", "none")
    log.enqueue("wechat:oXYZ", "no_answer")
    say("web-d", "印花税 怎么交？", "none")
    yield log


def rows(client: TestClient, table: str, headers: dict[str, str], query: str = RANGE) -> list[dict]:
    response = client.get(f"/api/staff/analytics/{table}?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_weekly_overview_is_exact(client: TestClient, conversations, reviewer) -> None:
    week1, week2 = rows(client, "overview", reviewer)
    assert week1 == {
        "week": "2026-11-02", "questions": 4, "answered": 3, "answer_rate": 0.75, "conversations": 4,
        "handoffs": 1, "handoff_rate": 0.25, "ratings": 1, "mean_rating": 2.0,
    }  # fmt: skip
    assert week2 == {
        "week": "2026-11-09", "questions": 3, "answered": 1, "answer_rate": 0.3333, "conversations": 3,
        "handoffs": 1, "handoff_rate": 0.3333, "ratings": 1, "mean_rating": 5.0,
    }  # fmt: skip
    empty = rows(client, "overview", reviewer, "start=2026-10-01&end=2026-10-04")
    assert empty == [{"week": "2026-09-28", "questions": 0, "answered": 0, "answer_rate": None,
                      "conversations": 0, "handoffs": 0, "handoff_rate": None, "ratings": 0,
                      "mean_rating": None}]  # fmt: skip


def test_filters_by_channel_region_and_tax_type(client: TestClient, conversations, reviewer) -> None:
    wechat = rows(client, "overview", reviewer, RANGE + "&channel=wechat")
    assert [(w["questions"], w["answered"], w["handoffs"]) for w in wechat] == [(1, 1, 0), (1, 0, 1)]
    beijing = rows(client, "overview", reviewer, RANGE + "&region=北京")  # aliases are understood
    assert [(w["questions"], w["answered"], w["ratings"]) for w in beijing] == [(2, 1, 1), (0, 0, 0)]
    stamp = rows(client, "unanswered", reviewer, RANGE + "&tax_type=印花税")
    assert [r["question"] for r in stamp] == ["印花税 怎么交？", "印花税怎么交"]
    web_only = rows(client, "unanswered", reviewer, RANGE + "&channel=web")
    assert [r["question"] for r in web_only] == ["印花税 怎么交？"]


def test_unanswered_unhelpful_and_low_ratings(client: TestClient, conversations, agent, reviewer) -> None:
    missed = rows(client, "unanswered", agent)  # agents see this list
    assert [r["question"] for r in missed] == [
        "印花税 怎么交？",
        "印花税怎么交",
        "我的手机138****5678能开专票吗",
    ]
    sms = missed[2]
    assert sms["channel"] == "短信" and sms["region"] == "北京市" and "增值税" in sms["tax_types"]
    assert sms["conversation"] == pseudonym("sms-p9") != "sms-p9"
    (bad,) = rows(client, "unhelpful", reviewer)
    assert bad["question"] == "个税起征点是多少" and bad["sources"] == IIT_FAQ and bad["region"] == "全国"
    assert bad["tax_types"] == "个人所得税" and bad["channel"] == "微信"
    assert bad["conversation"].startswith("微信-") and "oABCDEF123" not in str(bad)
    (low,) = rows(client, "low-ratings", reviewer)
    assert (low["rating"], low["question"], low["region"]) == (2, "北京出租房子房产税怎么交", "北京市")
    assert low["tax_types"] == "房产税"


def test_hot_questions_group_near_duplicates(client: TestClient, conversations, reviewer) -> None:
    top = rows(client, "hot", reviewer)
    assert [(r["question"], r["count"], r["source"]) for r in top[:2]] == [
        ("个税起征点是多少？", 2, IIT_FAQ),  # two wordings, one FAQ answered both
        ("印花税怎么交", 2, ""),  # unanswered: grouped by the normalised text
    ]
    assert sum(r["count"] for r in top) == 7
    by_week = rows(client, "hot", reviewer, RANGE + "&group_by=week")
    assert [(r["group"], r["rank"], r["count"]) for r in by_week if r["rank"] == 1] == [
        ("2026-11-02", 1, 2), ("2026-11-09", 1, 2)
    ]  # fmt: skip
    by_tax = {
        (r["group"], r["question"]): r["count"]
        for r in rows(client, "hot", reviewer, RANGE + "&group_by=tax_type")
    }
    assert (
        by_tax[("个人所得税", "个税起征点是多少？")] == 2
        and by_tax[("房产税", "北京出租房子房产税怎么交")] == 1
    )
    by_region = rows(client, "hot", reviewer, RANGE + "&group_by=region&top=1")
    assert [(r["group"], r["count"]) for r in by_region] == [("全国", 2), ("北京市", 1)]


def test_csv_downloads_have_bom_columns_and_masked_text(
    client: TestClient, store: KnowledgeStore, conversations, admin
) -> None:
    # a turn written before masking existed (straight into the table) is masked on the way out too
    with store.engine.begin() as conn:
        conn.execute(conversation_store.turns.insert(), [
            {"conversation_id": "wechat:oRAW", "at": WEEK2, "role": role, "text": text, "intent": "",
             "answer_kind": kind, "sources": [], "region": "全国"}
            for role, text, kind in (("taxpayer", RAW_QUESTION, ""), ("bot", "抱歉", "none"))
        ])  # fmt: skip
    for table in TABLES:
        check_csv(client, admin, table)


def check_csv(client: TestClient, admin: dict[str, str], table: str) -> None:
    response = client.get(f"/api/staff/analytics/{table}.csv?{RANGE}", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"{table}-20261102-20261115.csv" in disposition
    body = response.content.decode("utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(body)))
    json_rows = client.get(f"/api/staff/analytics/{table}?{RANGE}", headers=admin).json()
    assert header == list(json_rows["columns"].values()) and len(lines) == len(json_rows["rows"])
    for raw in ("110101199003071234", "13812345678", "oRAW", "oABCDEF123", "sms-p9"):
        assert raw not in body
    if table == "unanswered":
        assert header[-1] == "问题"
        assert [line[-1] for line in lines if "的个税" in line[-1]] == ["身份证11**************34的个税"]


def test_roles_and_authentication(client: TestClient, agent) -> None:
    for path in (
        f"/api/staff/analytics/{table}{suffix}?{RANGE}" for table in TABLES for suffix in ("", ".csv")
    ):
        table = path.split("/")[4].split("?")[0].removesuffix(".csv")
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer stf_forged"}).status_code == 401
        assert client.get(path, headers=agent).status_code == (200 if table == "unanswered" else 403)


BAD_FILTERS = [
    ("start=2026-13-01", "开始日期"),
    ("end=yesterday", "结束日期"),
    ("start=2026-11-15&end=2026-11-02", "晚于结束日期"),
    ("start=2024-01-01&end=2026-01-01", "最长"),
    ("region=火星", "未知地区"),
    ("channel=fax", "未知渠道"),
    ("tax_type=午餐税", "未知税种"),
    ("group_by=month", "分组方式"),
]


def test_bad_filters_are_422_with_a_reason(client: TestClient, reviewer) -> None:
    for query, needle in BAD_FILTERS:
        response = client.get(f"/api/staff/analytics/hot?{query}", headers=reviewer)
        assert response.status_code == 422 and needle in response.json()["detail"], query
    assert client.get(f"/api/staff/analytics/unanswered?{RANGE}&limit=0", headers=reviewer).status_code == 422


def test_default_range_is_the_last_eight_weeks(client: TestClient, reviewer) -> None:
    body = client.get("/api/staff/analytics/overview", headers=reviewer).json()
    assert len(body["rows"]) == 8 and body["filters"]["end"] == datetime.now(UTC).date().isoformat()


def test_analytics_page_by_role(app: FastAPI, conversations) -> None:
    with TestClient(app) as admin, TestClient(app) as agent, TestClient(app) as anonymous:
        login(admin, "admin1", f"/staff/analytics?{RANGE}")
        page = admin.get(f"/staff/analytics?{RANGE}&group_by=week")
        assert page.status_code == 200
        markers = ('id="chart-rates"', 'id="chart-hot"', "/staff/static/vendor/chart.umd.min.js",
                   'id="table-overview"', "75.0%", "/api/staff/analytics/hot.csv?start=2026-11")  # fmt: skip
        for marker in markers:
            assert marker in page.text, marker
        assert "13812345678" not in page.text and "oABCDEF123" not in page.text
        bad = admin.get("/staff/analytics?start=2026-02-30")
        assert bad.status_code == 422 and "开始日期" in bad.text
        login(agent, "agent1", f"/staff/analytics?{RANGE}")
        mine = agent.get(f"/staff/analytics?{RANGE}")
        assert mine.status_code == 200 and 'id="table-unanswered"' in mine.text
        assert 'id="table-overview"' not in mine.text and "印花税怎么交" in mine.text
        assert anonymous.get("/staff/analytics", follow_redirects=False).status_code == 303
        script = anonymous.get("/staff/static/vendor/chart.umd.min.js")
        assert script.status_code == 200 and "Chart.js v4" in script.text[:200]
        assert anonymous.get("/staff/static/vendor/nope.js").status_code == 404
        assert "new window.Chart" in anonymous.get("/staff/static/analytics.js").text
