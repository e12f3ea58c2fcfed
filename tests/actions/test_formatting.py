from datetime import date

import pytest

from actions.formatting import (
    NO_ANSWER_TEXT,
    applicability_line,
    basis_line,
    citations,
    excerpt,
    format_answer,
    is_usable,
)
from knowledge_base.models import Applicability, DocStatus, SearchHit


def hit(**overrides) -> SearchHit:
    values = dict(
        kind="article", chunk_id="law-vat#10", doc_id="law-vat", title="中华人民共和国增值税法",
        doc_number="主席令第四十一号", region="全国", status=DocStatus.VALID, effective=date(2026, 1, 1),
        article="第十一条", text="小规模纳税人适用简易计税方法，征收率为百分之三。", score=1.0,
        applicability=Applicability.NATIONAL,
    )  # fmt: skip
    values.update(overrides)
    return SearchHit(**values)


def test_basis_line_names_title_number_and_article():
    assert basis_line(hit()) == "依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条"


def test_basis_line_without_doc_number_or_article():
    assert basis_line(hit(doc_number="", article="")) == "依据：《中华人民共和国增值税法》"


def test_faq_without_citation_has_no_basis_line():
    assert basis_line(hit(kind="faq", doc_id="", title="个税起征点是多少")) == ""


@pytest.mark.parametrize(
    ("region", "expected"),
    [("全国", "适用范围：全国"), ("北京市", "适用范围：地方规定（北京市）"), ("", "适用范围：全国")],
)
def test_applicability_line(region, expected):
    assert applicability_line(hit(region=region)) == expected


def test_excerpt_cuts_long_text_at_a_sentence_end():
    text = "第一句话说明适用范围。" * 40
    out = excerpt(text, limit=100)
    assert len(out) <= 102 and out.endswith("。……")


def test_excerpt_keeps_short_text_and_collapses_whitespace():
    assert excerpt("征收率\n  为百分之三。") == "征收率为百分之三。"
    assert excerpt("rate  is\n 3%") == "rate is 3%"


@pytest.mark.parametrize(
    "bad",
    [
        {"status": DocStatus.REPEALED},
        {"status": DocStatus.AMENDED},
        {"applicability": Applicability.HISTORICAL},
    ],
)
def test_repealed_replaced_and_historical_hits_are_not_usable(bad):
    assert not is_usable(hit(**bad))


def test_format_answer_article_text_basis_region_and_payload():
    text, payload = format_answer([hit(), hit(article="第十条", text="税率为百分之十三。")])
    lines = text.split("\n")
    assert lines[0].startswith("《中华人民共和国增值税法》第十一条规定：小规模纳税人")
    assert lines[1] == "依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条"
    assert lines[2] == "适用范围：全国"
    assert payload["answer_kind"] == "article"
    assert [c["article"] for c in payload["citations"]] == ["第十一条", "第十条"]
    assert payload["citations"][0] == {
        "doc_id": "law-vat", "title": "中华人民共和国增值税法", "doc_number": "主席令第四十一号",
        "article": "第十一条", "region": "全国", "status": "有效", "effective": "2026-01-01",
        "applicability": "national",
    }  # fmt: skip


def test_format_answer_skips_a_repealed_best_hit():
    old = hit(doc_id="reg-vat-old", title="增值税暂行条例", status=DocStatus.REPEALED, score=9.0)
    text, payload = format_answer([old, hit()])
    assert "暂行条例" not in text
    assert [c["doc_id"] for c in payload["citations"]] == ["law-vat"]


def test_format_answer_faq_uses_the_text_as_answer():
    text, payload = format_answer([hit(kind="faq", text="征收率是3%。", chunk_id="faq:x")])
    assert text.startswith("征收率是3%。\n依据：")
    assert payload["answer_kind"] == "faq"


def test_citations_are_distinct():
    assert len(citations([hit(), hit(), hit(article="第十条")])) == 2


def test_format_answer_refuses_nothing_usable():
    with pytest.raises(ValueError):
        format_answer([hit(status=DocStatus.REPEALED)])
    assert "12366" in NO_ANSWER_TEXT and "转人工" in NO_ANSWER_TEXT


def test_format_answer_payload_names_sources_and_applicability():
    _, payload = format_answer([hit()])
    assert payload["sources"] == ["law-vat#10"]
    assert payload["applicability"] == "national"
    assert "full_answer" not in payload


def test_long_answers_are_cut_near_300_characters_with_the_full_text_in_the_payload():
    long = "小规模纳税人适用简易计税方法。" * 40
    text, payload = format_answer([hit(kind="faq", text=long, chunk_id="faq:x")])
    body = text.split("\n")[0]
    assert body.endswith("……（查看全文）") and len(body) <= 310
    assert payload["full_answer"] == long


def test_a_past_date_answers_with_the_rule_then_in_force_flagged_historical():
    old = hit(doc_id="mof-old", title="小规模减按1%公告", status=DocStatus.REPEALED, expires=date(2026, 1, 1))
    text, payload = format_answer([old], as_of=date(2025, 12, 31), today=date(2026, 12, 3))
    assert text.startswith("【历史规定】以下是2025年12月31日时适用的规定，2026-01-01起不再适用")
    assert payload["applicability"] == "historical"
    assert payload["citations"][0]["applicability"] == "historical"
    assert payload["as_of"] == "2025-12-31"


def test_a_past_date_whose_rule_still_applies_is_not_flagged():
    text, payload = format_answer([hit()], as_of=date(2026, 6, 1), today=date(2026, 12, 3))
    assert "历史规定" not in text and payload["applicability"] == "national"


def test_a_repealed_rule_is_never_the_answer_for_today():
    old = hit(doc_id="mof-old", status=DocStatus.REPEALED, expires=date(2026, 1, 1))
    with pytest.raises(ValueError):
        format_answer([old])
