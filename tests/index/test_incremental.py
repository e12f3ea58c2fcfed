"""Incremental updates: one document or FAQ changed in the store is searchable at once, and persisted."""

import time
from dataclasses import replace
from pathlib import Path

import pytest

from actions.registry import live_faqs
from actions.topics import FaqSuggester, LocalVariants
from index.builder import build_from_store, load_retriever
from index.follow import FollowingRetriever
from knowledge_base.models import Citation, FaqEntry
from knowledge_base.store import open_store
from tests.index.conftest import make_doc


@pytest.fixture
def live(small_docs, encoder, tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    store.upsert_documents(small_docs)
    root = tmp_path / "index"
    retriever, _ = build_from_store(store, encoder, root)
    following = FollowingRetriever(retriever, store, root=root, interval=0.0)
    yield store, following, root
    store.close()


NEW = make_doc(
    "nat-stamp", "印花税若干问题的公告", ["电子合同印花税按合同所载金额计征。"], tax_types=("印花税",)
)


def test_added_document_visible_at_once_and_persisted(live, encoder):
    store, following, root = live
    assert "nat-stamp" not in [h.doc_id for h in following.search("电子合同印花税怎么交")]
    store.upsert_documents([NEW])
    started = time.perf_counter()
    hits = following.search("电子合同印花税怎么交")
    assert time.perf_counter() - started < 2.0
    assert hits[0].doc_id == "nat-stamp"
    reloaded, manifest = load_retriever(root, encoder)
    assert manifest["store_seq"] == store.last_change_seq()
    assert reloaded.search("电子合同印花税怎么交")[0].doc_id == "nat-stamp"


def test_withdrawn_document_disappears(live, encoder):
    store, following, root = live
    assert "nat-env" in [h.doc_id for h in following.search("大气污染物环境保护税税额幅度", k=10)]
    store.withdraw_document("nat-env")
    assert "nat-env" not in [h.doc_id for h in following.search("大气污染物环境保护税税额幅度", k=10)]
    reloaded, _ = load_retriever(root, encoder)
    assert "nat-env" not in reloaded.table.docs


def test_changed_document_replaces_old_text(live):
    store, following, _ = live
    changed = replace(NEW, articles=(replace(NEW.articles[0], text="车船税按年申报缴纳。"),))
    store.upsert_documents([NEW])
    following.search("印花税")
    store.upsert_documents([changed])
    hits = following.search("车船税按年申报", k=10)
    texts = [h.text for h in hits if h.doc_id == "nat-stamp"]
    assert texts == ["车船税按年申报缴纳。"]


def test_faq_published_and_withdrawn(live):
    store, following, _ = live
    entry = FaqEntry(
        id="faq-new", question="电子合同要交印花税吗？",
        similar_questions=("电子合同印花税", "网上签合同交印花税吗"),
        answer="要，按合同金额计征。", citations=(Citation("nat-vat", "第1条"),),
    )  # fmt: skip
    store.upsert_faq(entry)
    assert following.search("电子合同要交印花税吗")[0].kind == "faq"
    store.withdraw_faq("faq-new")
    assert all(h.kind != "faq" for h in following.search("电子合同要交印花税吗"))


def test_follower_checks_at_most_once_per_interval(live):
    store, following, _ = live
    following.interval = 3600
    following.sync(force=True)
    store.upsert_documents([NEW])
    assert following.sync() == 0  # checked less than an interval ago
    assert following.sync(force=True) == 1


def test_region_follow_up_and_suggestions_follow_faq_changes(live):
    """The actions' FAQ topics come from the live index: a local FAQ published by staff makes the bot ask
    for the region and suggest it; withdrawn, it does neither."""
    store, following, _ = live
    source = live_faqs(following)
    variants, suggester = LocalVariants(source), FaqSuggester(source)
    question = "出租住房房产税怎么交"
    assert variants.regions_for(question) == []
    assert suggester.suggest(question, region="北京市") == []

    store.upsert_faq(FaqEntry(
        id="faq-bj-rent", question="北京个人出租住房房产税怎么交？",
        similar_questions=("北京出租住房房产税",),
        answer="按租金收入的4%计征。", citations=(Citation("nat-vat", "第1条"),), region="北京市",
    ))  # fmt: skip
    assert variants.regions_for(question) == ["北京市"]
    assert suggester.suggest(question, region="北京市") == ["北京个人出租住房房产税怎么交？"]

    store.withdraw_faq("faq-bj-rent")
    assert variants.regions_for(question) == []
    assert suggester.suggest(question, region="北京市") == []


def test_replicas_following_one_store_publish_each_change_once(live, encoder):
    """Two app replicas (two followers of one store and one index folder): the first to apply a change
    publishes it; the second finds that state already published and writes nothing."""
    store, following, root = live
    other, _ = load_retriever(root, encoder)
    replica = FollowingRetriever(other, store, root=root, interval=0.0)
    before = {p.name for p in root.glob("v*")}
    store.upsert_documents([NEW])
    assert following.search("电子合同印花税怎么交")[0].doc_id == "nat-stamp"
    assert replica.search("电子合同印花税怎么交")[0].doc_id == "nat-stamp"  # searchable on both
    assert len({p.name for p in root.glob("v*")} - before) == 1
    reloaded, manifest = load_retriever(root, encoder)
    assert manifest["store_seq"] == store.last_change_seq() and "nat-stamp" in reloaded.table.docs
