from datetime import date

import numpy as np
import pytest

from index.builder import build_table
from index.faq import FaqMatcher, named_taxes, tax_consistent
from index.hybrid import HybridRetriever, RankingWeights
from index.tokenize import search_tokens
from knowledge_base.models import Citation, FaqEntry, FaqStatus


def test_faq_paraphrase_comes_first_with_citation(small_retriever):
    hits = small_retriever.search("小规模纳税人征收率多少？", k=3)
    assert hits[0].kind == "faq" and hits[0].faq.id == "faq-rate"
    assert hits[0].doc_id == "nat-vat" and hits[0].article == "第1条"
    assert [c.doc_id for c in hits[0].citations] == ["nat-vat"]
    assert len(hits) == 3 and all(h.kind == "article" for h in hits[1:])


def test_faq_respects_region(small_retriever):
    assert small_retriever.search("北京环保税税额", region="北京市")[0].kind == "faq"
    hits = small_retriever.search("北京环保税税额", region="上海市")
    assert all(h.kind != "faq" for h in hits)


def test_unrelated_question_gets_search_results_not_faq(small_retriever):
    hits = small_retriever.search("一般纳税人进项税额抵扣", k=3)
    assert hits and all(h.kind == "article" for h in hits)


def test_withdrawn_or_expired_faq_not_used(small_docs, small_faqs, encoder):
    from dataclasses import replace

    faqs = [
        replace(small_faqs[0], status=FaqStatus.WITHDRAWN),
        replace(small_faqs[1], valid_to=date(2020, 1, 1)),
    ]
    r = HybridRetriever(build_table(small_docs, faqs, encoder))
    assert all(h.kind != "faq" for h in r.search("小规模纳税人征收率多少？"))
    assert all(h.kind != "faq" for h in r.search("北京环保税税额", region="北京市"))


def test_faq_citing_a_rule_not_in_force_is_not_used(small_docs, small_faqs, encoder):
    from dataclasses import replace

    docs = [replace(d, expires=date(2021, 1, 1)) if d.id == "nat-vat" else d for d in small_docs]
    r = HybridRetriever(build_table(docs, small_faqs, encoder))
    assert all(h.kind != "faq" for h in r.search("小规模纳税人征收率多少？", as_of=date(2026, 1, 1)))


def test_no_tax_content_no_hits(corpus_retriever):
    for q in ("今天天气怎么样", "讲个笑话", "你是谁呀", "hello"):
        assert corpus_retriever.search(q, region="浙江省") == [], q


def test_doc_number_in_query_ranks_that_document_first(corpus_retriever):
    hits = corpus_retriever.search("国家税务总局公告2018年第28号是怎么规定的", as_of=date(2026, 6, 1))
    assert hits[0].doc_id == "sta-2018-28"
    hits = corpus_retriever.search("增值税法第十条怎么规定", as_of=date(2026, 6, 1))
    assert hits[0].doc_id == "law-vat-2024"


# ---- FaqMatcher rules (hand-made vectors, so each rule is tested on its own) ----------------------------
def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def _faq(faq_id: str, *cites: tuple[str, str], region: str = "全国", taxes=("增值税",)) -> FaqEntry:
    return FaqEntry(
        id=faq_id, question=faq_id, answer="…", citations=tuple(Citation(d, a) for d, a in cites),
        region=region, tax_types=taxes,
    )  # fmt: skip


def _matcher(entries: list[FaqEntry], vectors: list[np.ndarray], **kw) -> FaqMatcher:
    kw = {"threshold": 0.8, "margin": 0.05, **kw}
    m = FaqMatcher(**kw)
    m.set_entries(entries, np.vstack(vectors))
    return m


def _anyone(entry: FaqEntry) -> bool:
    return True


Q = _unit(1, 0, 0, 0)
CLOSE = _unit(1, 0.1, 0, 0)  # cosine ~0.995 to Q
FAR = _unit(0, 0, 1, 0)


def test_runner_up_on_the_same_rule_does_not_block_the_answer():
    a = _faq("a", ("doc-1", "第三条"), ("doc-2", "第四条"))
    same = _faq("same", ("doc-2", "第四条"), ("doc-1", "第三条"))  # the same rule asked another way
    other = _faq("other", ("doc-9", "第一条"))
    m = _matcher([a, same, other], [Q, CLOSE, FAR])
    found = m.match("q", Q, _anyone)
    assert found and found.entry.id == "a" and found.margin > 0.5  # measured against "other"
    rival = _faq("rival", ("doc-9", "第二条"))  # a different rule just as close: ambiguous
    m = _matcher([a, rival, other], [Q, CLOSE, FAR])
    assert m.best("q", Q, _anyone).margin < 0.05
    assert m.match("q", Q, _anyone) is None


def test_sharing_one_basic_article_is_not_the_same_rule():
    a = _faq("a", ("law-pit", "第六条"), ("sta-61", "第六条"))
    b = _faq("b", ("law-pit", "第三条"), ("law-pit", "税率表二"), ("law-pit", "第六条"))
    m = _matcher([a, b], [Q, CLOSE])
    assert m.match("q", Q, _anyone) is None


def test_faq_about_another_tax_never_answers():
    vat = _faq("vat-threshold", ("mof", "第一条"), taxes=("增值税",))
    pit = _faq("pit-threshold", ("law-pit", "第六条"), taxes=("个人所得税",))
    m = _matcher([vat, pit], [Q, _unit(1, 0.5, 0, 0)], threshold=0.5)
    query = "个税起征点是多少"
    taxes = named_taxes(query, search_tokens(query), m.vocabulary)
    assert taxes == {"个人所得税"}
    assert m.match(query, Q, _anyone, taxes).entry.id == "pit-threshold"
    assert m.match(query, Q, _anyone, ()).entry.id == "vat-threshold"  # no tax named: no check
    assert tax_consistent(vat, {"发票"})  # invoices cut across taxes
    hinted = "跨境电商出口免税备案怎么办"  # 出口 hints at 出口退税 but names no tax: no check
    assert named_taxes(hinted, search_tokens(hinted), m.vocabulary) == set()


def test_local_entry_close_behind_a_national_one_answers_for_its_asker():
    national = _faq("range", ("law-env", "第六条"), taxes=("环境保护税",))
    local = _faq("bj", ("bj-env", "第一条"), ("law-env", "第六条"), region="北京市", taxes=("环境保护税",))
    m = _matcher([national, local], [Q, CLOSE], local_delta=0.1)
    found = m.match("q", Q, _anyone)
    assert found and found.entry.id == "bj"  # the national range does not count as a rival
    m.local_delta = 0.0
    assert m.best("q", Q, _anyone).entry.id == "range"
    national_only = m.match("q", Q, lambda e: e.region == "全国")
    assert national_only and national_only.entry.id == "range"  # an asker elsewhere gets the range


def test_duplicate_faq_ids_are_refused():
    a = _faq("a", ("doc", "第一条"))
    with pytest.raises(ValueError, match="duplicate"):
        _matcher([a, a], [Q, Q])


# ---- related FAQs ("did you mean ...?") ---------------------------------------------------------------
def test_related_faqs_suggest_even_when_no_faq_answers_first(small_docs, small_faqs, encoder):
    strict = HybridRetriever(build_table(small_docs, small_faqs, encoder), RankingWeights(faq_threshold=1.01))
    query = "小规模纳税人征收率多少"
    assert all(h.kind != "faq" for h in strict.search(query, k=3))
    related = strict.related_faqs(query, min_score=0.0)
    assert related and all(h.kind == "faq" for h in related)
    assert related[0].faq.id == "faq-rate" and related[0].doc_id == "nat-vat" and related[0].citations
    assert [h.score for h in related] == sorted((h.score for h in related), reverse=True)
    floor = strict.weights.related_min  # the default bar for suggestions
    assert all(h.score >= floor for h in strict.related_faqs(query))


def test_related_faqs_follow_region_date_and_score_filters(small_retriever):
    ids = {h.faq.id for h in small_retriever.related_faqs("北京环保税税额", region="北京市", min_score=0.0)}
    assert "faq-bj" in ids
    ids = {h.faq.id for h in small_retriever.related_faqs("北京环保税税额", region="上海市", min_score=0.0)}
    assert "faq-bj" not in ids
    assert small_retriever.related_faqs("北京环保税税额", region="北京市", min_score=1.01) == []
    assert len(small_retriever.related_faqs("北京环保税税额", region="北京市", k=1, min_score=0.0)) == 1
    with pytest.raises(ValueError):
        small_retriever.related_faqs("   ")
    with pytest.raises(ValueError):
        small_retriever.related_faqs("税", k=0)


def test_related_faqs_leave_out_withdrawn_entries(small_docs, small_faqs, encoder):
    from dataclasses import replace

    faqs = [replace(small_faqs[0], status=FaqStatus.WITHDRAWN), small_faqs[1]]
    r = HybridRetriever(build_table(small_docs, faqs, encoder))
    assert all(h.faq.id != "faq-rate" for h in r.related_faqs("小规模纳税人征收率多少", min_score=0.0))


def test_following_retriever_passes_related_faqs_through(small_retriever):
    from index.follow import FollowingRetriever

    class _Store:
        def last_change_seq(self) -> int:
            return 0

    following = FollowingRetriever(small_retriever, _Store(), root=None)
    got = following.related_faqs("小规模纳税人征收率多少", min_score=0.0, k=2)
    assert [h.chunk_id for h in got] == [
        h.chunk_id for h in small_retriever.related_faqs("小规模纳税人征收率多少", min_score=0.0, k=2)
    ]


def test_related_faqs_put_the_askers_local_entry_first(small_docs, small_faqs, encoder):
    from dataclasses import replace

    national = replace(
        small_faqs[1], id="faq-env-range", region="全国", citations=(Citation("nat-env", "第1条"),),
        tax_types=("环境保护税",), answer="每污染当量1.2元至12元。",
    )  # fmt: skip
    local = replace(small_faqs[1], tax_types=("环境保护税",))
    r = HybridRetriever(
        build_table(small_docs, [national, local], encoder), RankingWeights(faq_local_delta=1.0)
    )
    related = r.related_faqs("北京环保税税额", region="北京市", min_score=0.0)
    assert [h.faq.id for h in related] == ["faq-bj", "faq-env-range"]
    assert [h.faq.id for h in r.related_faqs("北京环保税税额", region="上海市", min_score=0.0)] == [
        "faq-env-range"
    ]
