"""The hand-written Chinese legal structure parser on small, exact cases."""

from __future__ import annotations

import pytest

from knowledge_base.loaders.structure import has_article_structure, split_articles
from knowledge_base.numerals import cn_to_int


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("十", 10), ("十一", 11), ("二十", 20), ("二十二", 22), ("一百", 100), ("一百零五", 105),
     ("一百三十二", 132), ("两千", 2000), ("二〇二六", 2026), ("48", 48)],
)  # fmt: skip
def test_cn_to_int(text: str, value: int) -> None:
    assert cn_to_int(text) == value


def test_cn_to_int_rejects_words() -> None:
    with pytest.raises(ValueError, match="总则"):
        cn_to_int("总则")


LAW = [
    "# 测试法",
    "2020年1月1日 第十三届全国人民代表大会常务委员会第一次会议通过",
    "## 第一章 总则",
    "第一条 为了规范测试，制定本法。",
    "第二条 本法所称测试，是指下列行为：",
    "（一）第一种；",
    "（二）第二种。",
    "依照第一条规定办理。",
    "## 第二章 征收",
    "### 第一节 一般规定",
    "第三条　税率为百分之三。第五条规定的除外。",
    "第四条之一 特殊情形。",
    "第五条 本法自2021年1月1日起施行。",
]


def test_law_split_by_article_with_chapters() -> None:
    arts = split_articles("t", LAW, title="测试法")
    assert [a.label for a in arts] == ["第一条", "第二条", "第三条", "第四条之一", "第五条"]
    assert arts[1].text.splitlines() == [
        "第二条 本法所称测试，是指下列行为：",
        "（一）第一种；",
        "（二）第二种。",
        "依照第一条规定办理。",
    ]
    assert (arts[0].chapter, arts[0].section) == ("第一章 总则", "")
    assert (arts[2].chapter, arts[2].section) == ("第二章 征收", "第一节 一般规定")
    assert arts[2].text == "第三条 税率为百分之三。第五条规定的除外。"
    assert [a.seq for a in arts] == [0, 1, 2, 3, 4] and arts[0].chunk_id == "t#0"


def test_plain_text_chapter_headings_without_markdown() -> None:
    lines = ["第一章 总则", "第一条 甲。", "第二章 附则", "第二条 乙。"]
    arts = split_articles("t", lines)
    assert [(a.label, a.chapter) for a in arts] == [("第一条", "第一章 总则"), ("第二条", "第二章 附则")]


def test_quoted_article_reference_does_not_start_an_article() -> None:
    lines = ["第一条 甲。", "第二条 乙。", "第一条规定的事项按此办理。", "第三条 丙。"]
    arts = split_articles("t", lines)
    assert [a.label for a in arts] == ["第一条", "第二条", "第三条"]
    assert "第一条规定的事项" in arts[1].text


def test_substantive_preamble_is_kept() -> None:
    lines = [
        "为了规范某项税收征收管理工作，根据有关法律规定，结合本地实际情况，制定本办法，请遵照执行。",
        *LAW[3:5],
    ]
    arts = split_articles("t", lines)
    assert arts[0].label == "序言" and arts[1].label == "第一条" and arts[1].seq == 1


def test_announcement_split_by_paragraph_merging_short_ones() -> None:
    long = "现将有关事项公告如下：小规模纳税人发生应税交易，销售额未达到起征点标准的，可以选择放弃免税。"
    lines = [
        "一、",
        long,
        "二、另一段较长的内容，说明自然人出租不动产一次性收取租金的，按月均分摊确定月销售额，适用起征点。",
        "特此公告。",
    ]
    assert not has_article_structure(lines)
    arts = split_articles("a", lines)
    assert [a.label for a in arts] == ["第1段", "第2段"]
    assert arts[0].text.startswith("一、\n现将")
    assert arts[1].text.endswith("特此公告。")
