"""Shared test fixtures: repository paths, the shared evaluation data, and a tiny real retriever."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import psycopg
import pytest
import redis

from index.tokenize import cut
from knowledge_base.models import NATIONAL, Applicability, Article, Citation, Document, FaqEntry, SearchHit
from tests.channels.fakes import APP_ID, APP_SECRET, FakeTencentSms, FakeWeChatAPI

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
SHARED_DIR = REPO_ROOT.parent / "shared"
pytest_plugins = ["tests.privacy_plugin"]  # fails the run on an unmasked identifier in any log line
_FUNCTION_WORDS = {"多少", "什么", "怎么", "是否", "可以", "请问", "现在", "哪些"}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (real regulations, dev questions): tests that need it fail, not skip, without it."""
    if not (SHARED_DIR / "corpus").is_dir():
        pytest.fail(f"test data missing: expected the shared corpus at {SHARED_DIR / 'corpus'}")
    return SHARED_DIR


class TinyRetriever:
    """A real (if naive) Retriever over a few documents: jieba word overlap, region and date filters."""

    def __init__(self, documents: Sequence[Document], faqs: Sequence[FaqEntry] = (), min_overlap: int = 2):
        self.documents = {d.id: d for d in documents}
        self.faqs = list(faqs)
        self.min_overlap = min_overlap
        self.queries: list[tuple[str, str | None]] = []

    @staticmethod
    def _words(text: str) -> set[str]:
        return {w for w in cut(text) if len(w) > 1 and w not in _FUNCTION_WORDS}

    def _score(self, query_words: set[str], text: str) -> int:
        return len(query_words & self._words(text))

    def search(
        self,
        query: str,
        *,
        region: str | None = None,
        as_of: date | None = None,
        tax_types: Sequence[str] | None = None,
        k: int = 5,
        include_history: bool = False,
    ) -> list[SearchHit]:
        self.queries.append((query, region))
        as_of = as_of or date.today()
        words = self._words(query)
        hits: list[SearchHit] = []
        for faq in self.faqs:
            score = self._score(words, " ".join((faq.question, *faq.similar_questions)))
            if score >= self.min_overlap and faq.in_force(as_of) and faq.region in (NATIONAL, region):
                doc = self.documents[faq.citations[0].doc_id]
                hits.append(self._hit(doc, faq.citations[0].article, faq.answer, score + 100, faq=faq))
        for doc in self.documents.values():
            if doc.region not in (NATIONAL, region) or not (include_history or doc.in_force(as_of)):
                continue
            for article in doc.articles:
                score = self._score(words, article.text)
                if score >= self.min_overlap:
                    hits.append(self._hit(doc, article.label, article.text, score))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    @staticmethod
    def _hit(doc: Document, label: str, text: str, score: float, faq: FaqEntry | None = None) -> SearchHit:
        national = doc.region == NATIONAL
        return SearchHit(
            kind="faq" if faq else "article",
            chunk_id=f"faq:{faq.id}" if faq else f"{doc.id}#{label}",
            doc_id=doc.id, title=doc.title, doc_number=doc.doc_number, region=doc.region,
            status=doc.status, effective=doc.effective, article=label, text=text, score=float(score),
            applicability=Applicability.NATIONAL if national else Applicability.LOCAL,
            faq=faq, citations=faq.citations if faq else (),
        )  # fmt: skip


def _doc(id_: str, title: str, number: str, region: str, effective: date, articles: list[tuple[str, str]]):
    return Document(
        id=id_, title=title, doc_number=number, region=region, effective=effective,
        articles=tuple(Article(doc_id=id_, seq=i, label=lb, text=t) for i, (lb, t) in enumerate(articles)),
    )  # fmt: skip


# Test documents written for these tests (summaries in our own words, not regulation text).
TEST_DOCUMENTS = (
    _doc("test-vat-law", "中华人民共和国增值税法", "主席令第四十一号", NATIONAL, date(2026, 1, 1), [
        ("第十条", "增值税税率分为百分之十三、百分之九、百分之六和零税率，按所售货物、服务的类别适用。"),
        ("第十一条", "小规模纳税人等适用简易计税方法的，增值税征收率为百分之三。"),
    ]),
    _doc("test-iit-law", "中华人民共和国个人所得税法", "主席令第九号", NATIONAL, date(2019, 1, 1), [
        ("第六条", "居民个人的综合所得，以每一纳税年度的收入额减除费用六万元以及专项扣除、"
                   "专项附加扣除后的余额，为应纳税所得额。"),
    ]),
    _doc("test-bj-property", "北京市房产税测试规定", "京测试〔2026〕1号", "北京市", date(2026, 1, 1), [
        ("第三条", "北京市个人出租住房的房产税按租金收入的百分之四计征。"),
    ]),
    _doc("test-sh-property", "上海市房产税测试规定", "沪测试〔2026〕1号", "上海市", date(2026, 1, 1), [
        ("第三条", "上海市个人出租住房的房产税按租金收入的百分之四计征，另有地方减免。"),
    ]),
)  # fmt: skip

TEST_FAQS = (
    FaqEntry(
        id="faq-test-iit-threshold",
        question="个税起征点是多少？",
        similar_questions=("个人所得税起征点多少钱", "工资多少开始交个税"),
        answer="居民个人综合所得每年减除费用六万元，即通常说的每月五千元“起征点”。",
        citations=(Citation(doc_id="test-iit-law", article="第六条"),),
    ),
)


@pytest.fixture
def tiny_retriever() -> TinyRetriever:
    return TinyRetriever(TEST_DOCUMENTS, TEST_FAQS)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end (PostgreSQL down = failure)."""
    name = f"taxbot_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests but {PG_ADMIN_DSN!r} is not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_pg_schema(database_url: str) -> str:
    """A fresh, empty schema in ``database_url``: the URL of that schema (one per test keeps tests apart)."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{database_url}?options=-csearch_path%3D{schema}"


# the fake WeChat API and Tencent SMS gateway (real wire format): channel, delivery and subscription tests
@pytest.fixture
def wechat_api() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI(APP_ID, APP_SECRET) as server:
        yield server


@pytest.fixture
def sms_gateway() -> Iterator[FakeTencentSms]:
    with FakeTencentSms("AKIDtaxbot12366", "tencent-secret-key", "1400012366") as server:
        yield server


def reachable_redis(url: str) -> redis.Redis:
    """A client of the real Redis at ``url``; the test fails (never skips) saying so when it is down."""
    conn = redis.Redis.from_url(url, socket_timeout=2)
    try:
        conn.ping()
    except redis.RedisError as exc:
        conn.close()
        pytest.fail(f"Redis is required for these tests but {url} is not reachable: {exc}")
    return conn
