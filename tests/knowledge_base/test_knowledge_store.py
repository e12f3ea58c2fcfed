"""The knowledge store, run against SQLite and PostgreSQL alike (see conftest.store_url)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa

from knowledge_base.migrations import current_revision, head_revision
from knowledge_base.models import Article, Citation, DocStatus, Document, FaqEntry, FaqStatus
from knowledge_base.store import FaqNotFound, KnowledgeStore, open_store
from taxbot.errors import ConfigError, DocumentNotFound, KnowledgeBaseError


def _doc(doc_id: str = "law-x", *, title: str = "中华人民共和国测试税法", n: int = 3, **kw) -> Document:
    arts = tuple(
        Article(doc_id, i, f"第{'一二三四五'[i]}条", f"第{'一二三四五'[i]}条 条文{i}", chapter="第一章 总则")
        for i in range(n)
    )
    return Document(
        id=doc_id, title=title, doc_number="主席令第九号", doc_number_aliases=("主席令第九十九号",),
        issuer="全国人民代表大会", doc_type="法律", region="全国", published=date(2018, 8, 31),
        effective=date(2019, 1, 1), status=DocStatus.VALID, supersedes=("reg-old",),
        tax_types=("个人所得税",), source="test", articles=arts, **kw,
    )  # fmt: skip


def _faq(answer: str = "答案一", **kw) -> FaqEntry:
    return FaqEntry(
        id="faq-1", question="个税起征点是多少？", answer=answer,
        similar_questions=("起征点多少", "工资多少交税"),
        citations=(Citation("law-x", "第一条"),), region="全国", tax_types=("个人所得税",),
        valid_from=date(2019, 1, 1), **kw,
    )  # fmt: skip


def test_migrate_creates_schema_at_head(store: KnowledgeStore) -> None:
    assert current_revision(store.engine) == head_revision() is not None
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"documents", "articles", "faqs", "faq_versions", "changes", "audit", "meta"} <= names
    store.migrate()  # idempotent
    assert current_revision(store.engine) == head_revision()


def test_document_round_trip(store: KnowledgeStore) -> None:
    doc = _doc()
    assert store.upsert_documents([doc]) == 1
    assert store.get_document("law-x") == doc
    assert store.get_document("missing") is None


def test_unchanged_documents_are_not_rewritten(store: KnowledgeStore) -> None:
    store.upsert_documents([_doc(), _doc("law-y", title="另一部法")])
    seq = store.last_change_seq()
    assert store.upsert_documents([_doc(), _doc("law-y", title="另一部法")]) == 0
    assert store.last_change_seq() == seq
    changed = replace(_doc(), articles=_doc(n=2).articles)
    assert store.upsert_documents([changed]) == 1
    assert [a.label for a in store.get_document("law-x").articles] == ["第一条", "第二条"]
    assert [(c.kind, c.key, c.op) for c in store.changes_since(seq)] == [("document", "law-x", "upsert")]


def test_articles_must_belong_to_their_document(store: KnowledgeStore) -> None:
    bad = replace(_doc(), articles=(Article("law-other", 0, "第一条", "x"),))
    with pytest.raises(KnowledgeBaseError, match="law-other"):
        store.upsert_documents([_doc("law-y"), bad])
    assert store.list_documents() == []  # the batch is one transaction


def test_withdrawal_is_soft_and_logged(store: KnowledgeStore) -> None:
    store.upsert_documents([_doc(), _doc("law-y")])
    store.withdraw_document("law-x", actor="auditor")
    assert [d.id for d in store.list_documents()] == ["law-y"]
    assert [d.id for d in store.list_documents(include_withdrawn=True)] == ["law-x", "law-y"]
    kept = store.get_document("law-x")
    assert kept is not None and kept.withdrawn and len(kept.articles) == 3
    assert not kept.in_force(date(2026, 1, 1))
    last = store.changes_since(0)[-1]
    assert (last.kind, last.key, last.op, last.actor) == ("document", "law-x", "withdraw", "auditor")
    assert store.audit_log(kind="document", key="law-x")[-1]["action"] == "withdraw"
    with pytest.raises(DocumentNotFound, match="no-such-doc"):
        store.withdraw_document("no-such-doc")
    # re-importing the same content does not silently undo an operator's withdrawal
    assert store.upsert_documents([_doc()]) == 0
    assert store.get_document("law-x").withdrawn


def test_faq_versions_and_rollback(store: KnowledgeStore) -> None:
    first = store.upsert_faq(_faq(), actor="editor-a")
    assert first.version == 1 and first.updated_at is not None and first.updated_at.tzinfo is not None
    assert store.upsert_faq(_faq()).version == 1  # unchanged: no new version
    second = store.upsert_faq(_faq("答案二"), actor="editor-b")
    assert second.version == 2 and store.get_faq("faq-1").answer == "答案二"
    assert [(v.version, v.answer) for v in store.faq_versions("faq-1")] == [(1, "答案一"), (2, "答案二")]

    back = store.rollback_faq("faq-1", 1, actor="lead")
    assert (back.version, back.answer) == (3, "答案一")
    assert replace(back, version=1, updated_at=None) == replace(first, updated_at=None)
    assert store.get_faq("faq-1") == back
    audit = store.audit_log(kind="faq", key="faq-1")
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("editor-a", "upsert"),
        ("editor-b", "upsert"),
        ("lead", "rollback"),
    ]
    assert audit[-1]["detail"] == {"rollback_to": 1, "version": 3}
    with pytest.raises(FaqNotFound, match="no version 9"):
        store.rollback_faq("faq-1", 9)
    with pytest.raises(FaqNotFound, match="faq-404"):
        store.rollback_faq("faq-404", 1)


def test_faq_withdrawal_and_listing(store: KnowledgeStore) -> None:
    store.upsert_faq(_faq())
    store.upsert_faq(replace(_faq(), id="faq-2", status=FaqStatus.DRAFT))
    assert [f.id for f in store.list_faqs()] == ["faq-1", "faq-2"]
    assert [f.id for f in store.list_faqs(status=FaqStatus.DRAFT)] == ["faq-2"]
    store.withdraw_faq("faq-1", actor="auditor")
    withdrawn = store.get_faq("faq-1")
    assert withdrawn.status == FaqStatus.WITHDRAWN and withdrawn.version == 2
    assert not withdrawn.in_force(date(2026, 6, 1))
    assert [f.id for f in store.list_faqs(status=FaqStatus.PUBLISHED)] == []
    assert [v.status for v in store.faq_versions("faq-1")] == [FaqStatus.PUBLISHED, FaqStatus.WITHDRAWN]
    assert store.rollback_faq("faq-1", 1).status == FaqStatus.PUBLISHED
    with pytest.raises(FaqNotFound):
        store.withdraw_faq("faq-404")
    assert isinstance(FaqNotFound("x"), DocumentNotFound)


def test_change_log_orders_every_write(store: KnowledgeStore) -> None:
    assert store.last_change_seq() == 0 and store.changes_since(0) == []
    store.upsert_documents([_doc()])
    store.upsert_faq(_faq())
    mark = store.last_change_seq()
    store.upsert_faq(_faq("新答案"))
    store.withdraw_document("law-x")
    log = store.changes_since(0)
    assert [c.seq for c in log] == sorted(c.seq for c in log) and len({c.seq for c in log}) == 4
    assert [(c.kind, c.op) for c in store.changes_since(mark)] == [
        ("faq", "upsert"),
        ("document", "withdraw"),
    ]
    assert all(c.at.tzinfo is not None for c in log)
    assert store.last_change_seq() == log[-1].seq


def test_meta(store: KnowledgeStore) -> None:
    assert store.get_meta("index.version") is None
    store.set_meta("index.version", "1")
    store.set_meta("index.version", "2")
    assert store.get_meta("index.version") == "2"


def test_data_survives_reopening(store_url: str) -> None:
    kb = open_store(store_url)
    kb.upsert_documents([_doc()])
    kb.upsert_faq(_faq())
    kb.close()
    again = open_store(store_url)
    try:
        assert again.get_document("law-x") == _doc()
        assert again.get_faq("faq-1").answer == "答案一"
    finally:
        again.close()


def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a url"):
        KnowledgeStore("not a url")


def test_corpus_round_trips_through_the_store(store: KnowledgeStore, corpus_dir) -> None:
    from knowledge_base.loaders import load_paths

    docs = load_paths([corpus_dir / "national"]).documents
    assert store.upsert_documents(docs) == len(docs)
    stored = {d.id: d for d in store.list_documents()}
    assert stored == {d.id: d for d in docs}


def test_migration_matches_the_table_definitions(store: KnowledgeStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from knowledge_base.store.schema import metadata

    def ours(name: str | None, type_: str, parent: dict) -> bool:  # other tables share the chain
        return type_ != "table" or name in metadata.tables

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), metadata)
    assert diff == []


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(KnowledgeBaseError, match="cannot open the knowledge store at postgresql") as info:
        open_store("postgresql://postgres:secret@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "secret" not in str(info.value)
