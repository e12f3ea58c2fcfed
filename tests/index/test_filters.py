"""Region and date filters: never another region's rules, never a repealed rule presented as current."""

from datetime import date

import pytest

from knowledge_base.models import Applicability


def _ids(hits):
    return [h.doc_id for h in hits]


def test_other_regions_local_rules_never_returned(small_retriever):
    for _ in range(2):  # the second call is served from the filter cache
        hits = small_retriever.search("北京市大气污染物环境保护税适用税额", region="上海市", k=10)
        assert "bj-env" not in _ids(hits)
        assert "sh-env" in _ids(hits)
        assert "gd-env" not in _ids(hits)


def test_city_gets_its_province_rules(small_retriever):
    hits = small_retriever.search("大气污染物环境保护税适用税额", region="深圳市", k=10)
    assert "gd-env" in _ids(hits)
    assert {h.applicability for h in hits if h.doc_id == "gd-env"} == {Applicability.LOCAL}
    assert next(h.why for h in hits if h.doc_id == "gd-env") == "广东省地方规定"
    assert not {"bj-env", "sh-env"} & set(_ids(hits))


def test_no_region_means_national_only(small_retriever):
    hits = small_retriever.search("大气污染物环境保护税适用税额", k=10)
    assert _ids(hits) and all(h.region == "全国" for h in hits)
    assert all(h.applicability == Applicability.NATIONAL and h.why == "全国有效" for h in hits)


def test_region_aliases_and_unknown_region(small_retriever):
    assert "sh-env" in _ids(small_retriever.search("大气污染物环境保护税适用税额", region="沪", k=10))
    with pytest.raises(ValueError, match="unknown region '火星'"):
        small_retriever.search("增值税", region="火星")


def test_tax_type_filter(small_retriever):
    hits = small_retriever.search("适用税额", tax_types=["增值税"], region="北京市", k=10)
    assert set(_ids(hits)) <= {"nat-vat"}


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_query_rejected(small_retriever, bad):
    with pytest.raises(ValueError, match="query is empty"):
        small_retriever.search(bad)


@pytest.mark.parametrize("k", [0, 51])
def test_k_range(small_retriever, k):
    with pytest.raises(ValueError, match=f"k must be between 1 and 50, got {k}"):
        small_retriever.search("增值税", k=k)


VAT_RATE = "销售货物增值税税率是多少"


def test_before_the_vat_law_the_interim_regulation_answers(corpus_retriever):
    hits = corpus_retriever.search(VAT_RATE, as_of=date(2025, 6, 1), k=5)
    assert "reg-vat-interim-2017" in _ids(hits)
    assert "law-vat-2024" not in _ids(hits)  # effective 2026-01-01: not yet in force


def test_after_the_vat_law_the_interim_regulation_is_hidden(corpus_retriever):
    hits = corpus_retriever.search(VAT_RATE, as_of=date(2026, 6, 1), k=5)
    assert "law-vat-2024" in _ids(hits)
    assert "reg-vat-interim-2017" not in _ids(hits)


def test_history_brings_back_the_repealed_regulation_marked(corpus_retriever):
    hits = corpus_retriever.search(VAT_RATE, as_of=date(2026, 6, 1), k=10, include_history=True)
    old = [h for h in hits if h.doc_id == "reg-vat-interim-2017"]
    assert old, _ids(hits)
    assert all(h.applicability == Applicability.HISTORICAL for h in old)
    assert old[0].why == "已于2026-01-01废止"
    assert all(h.applicability != Applicability.HISTORICAL for h in hits if h.doc_id == "law-vat-2024")


def test_repealed_documents_never_current(corpus_retriever, corpus_docs):
    today = date(2026, 12, 3)
    current = {d.id for d in corpus_docs if d.status in ("已废止", "已修改")}
    for q in ("印花税暂行条例", "资源税暂行条例的规定", "契税税率", "企业所得税法实施条例"):
        for hit in corpus_retriever.search(q, as_of=today, k=10):
            assert hit.doc_id not in current or hit.applicability == Applicability.HISTORICAL
