"""Local specificity: for an asker with a region, the local rule that fixes the amount outranks the national
rule that only sets the range; another region's rule is never shown; national askers get the national rule."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from index.builder import build_table
from index.hybrid import HybridRetriever, RankingWeights, local_bonus
from knowledge_base.models import Applicability, DocType

from .conftest import make_doc

AS_OF = date(2026, 6, 1)
QUESTION = "大气污染物环境保护税每污染当量多少元"


@pytest.fixture
def env_docs():
    return [
        make_doc(
            "law-env", "环境保护税法",
            ["应税大气污染物的税额幅度为每污染当量1.2元至12元，具体适用税额由省、自治区、直辖市确定。",
             "环境保护税的纳税人是直接向环境排放应税污染物的企业事业单位和其他生产经营者。"],
            doc_type=DocType.LAW, tax_types=("环境保护税",), doc_number="主席令第六十一号",
        ),
        make_doc(
            "bj-env", "北京市环境保护税适用税额的决定",
            ["北京市应税大气污染物环境保护税适用税额为每污染当量12元。"],
            region="北京市", doc_type=DocType.LOCAL_REGULATION, tax_types=("环境保护税",),
        ),
        make_doc(
            "sh-env", "上海市环境保护税适用税额的决定",
            ["上海市应税大气污染物环境保护税适用税额为每污染当量8元。"],
            region="上海市", doc_type=DocType.LOCAL_REGULATION, tax_types=("环境保护税",),
        ),
        make_doc(
            "bj-pension", "北京市职工养老保险缴费规定",
            ["北京市职工基本养老保险单位缴费比例为百分之十六。"],
            region="北京市", doc_type=DocType.LOCAL_RULE, tax_types=("社会保险费",),
        ),
    ]  # fmt: skip


@pytest.fixture
def env_retriever(env_docs, encoder) -> HybridRetriever:
    return HybridRetriever(build_table(env_docs, [], encoder))


def test_asker_in_region_gets_own_local_rule_first_never_another_regions(env_retriever):
    for region, own, other in (("北京市", "bj-env", "sh-env"), ("上海市", "sh-env", "bj-env")):
        hits = env_retriever.search(QUESTION, region=region, as_of=AS_OF, k=5)
        assert hits[0].doc_id == own, (region, [h.doc_id for h in hits])
        assert hits[0].applicability is Applicability.LOCAL and hits[0].region == region
        assert other not in {h.doc_id for h in hits}
        assert "law-env" in {h.doc_id for h in hits}  # the national range is still shown below it


def test_asker_without_region_gets_the_national_rule_only(env_retriever):
    hits = env_retriever.search(QUESTION, as_of=AS_OF, k=5)
    assert hits[0].doc_id == "law-env"
    assert all(h.region == "全国" for h in hits)


def test_without_the_boost_the_law_outranks_the_local_rule(env_docs, encoder):
    # what the boost corrects: the hierarchy prior alone puts 法律 above 地方性法规
    plain = HybridRetriever(build_table(env_docs, [], encoder), RankingWeights(local_boost=0.0))
    assert plain.search(QUESTION, region="北京市", as_of=AS_OF)[0].doc_id == "law-env"


def test_general_question_keeps_the_national_law_first(env_retriever):
    hits = env_retriever.search("环境保护税的纳税人是谁", region="北京市", as_of=AS_OF, k=3)
    assert hits[0].doc_id == "law-env"


def test_local_rule_on_another_tax_gets_no_boost(env_retriever):
    ranked = [h.doc_id for h in env_retriever.search(QUESTION, region="北京市", as_of=AS_OF, k=5)]
    assert "bj-pension" not in ranked[:2]


def test_local_bonus_is_bounded_and_only_for_close_local_candidates():
    base = np.array([3.0, 2.5, 1.0, 2.9])
    local = np.array([False, True, True, False])
    bonus = local_bonus(base, local, 0.6, 0.7)
    assert bonus.tolist() == [0.0, 0.6, 0.0, 0.0]  # 1.0 < 0.7 x 3.0: a poor local match stays where it was
    assert local_bonus(np.zeros(3), np.ones(3, dtype=bool), 0.6, 0.7).tolist() == [0.0, 0.0, 0.0]
