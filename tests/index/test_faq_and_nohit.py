from datetime import date

from knowledge_base.models import FaqStatus


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

    from index.builder import build_table
    from index.hybrid import HybridRetriever

    faqs = [
        replace(small_faqs[0], status=FaqStatus.WITHDRAWN),
        replace(small_faqs[1], valid_to=date(2020, 1, 1)),
    ]
    r = HybridRetriever(build_table(small_docs, faqs, encoder))
    assert all(h.kind != "faq" for h in r.search("小规模纳税人征收率多少？"))
    assert all(h.kind != "faq" for h in r.search("北京环保税税额", region="北京市"))


def test_faq_citing_a_rule_not_in_force_is_not_used(small_docs, small_faqs, encoder):
    from dataclasses import replace

    from index.builder import build_table
    from index.hybrid import HybridRetriever

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
