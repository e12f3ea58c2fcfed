"""The whole shared corpus loads through the Markdown loader, split into the right articles."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from knowledge_base.loaders import LoadReport, load_file, load_paths
from knowledge_base.loaders.structure import cn_to_int
from knowledge_base.models import DocStatus


@pytest.fixture(scope="module")
def report(corpus_dir: Path) -> LoadReport:
    return load_paths([corpus_dir])


@pytest.fixture(scope="module")
def docs(report: LoadReport) -> dict:
    return {d.id: d for d in report.documents}


def test_whole_corpus_loads(report: LoadReport, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.problems == []
    assert len(report.documents) == 107
    total = sum(len(d.articles) for d in report.documents)
    with capsys.disabled():
        print(f"\ncorpus: {len(report.documents)} documents, {total} articles")
    assert total > 2000
    assert all(d.articles for d in report.documents)
    assert Counter(d.region for d in report.documents)["全国"] == 99
    assert Counter(d.status for d in report.documents)[DocStatus.REPEALED] == 10
    # every chunk id is unique and seq numbers run 0..n-1
    for doc in report.documents:
        assert [a.seq for a in doc.articles] == list(range(len(doc.articles)))


def test_individual_income_tax_law_has_articles_one_to_twenty_two(docs: dict) -> None:
    pit = docs["law-pit-2018"]
    labels = [a.label for a in pit.articles]
    assert len(labels) == 22 and labels[0] == "第一条" and labels[-1] == "第二十二条"
    assert [cn_to_int(label[1:-1]) for label in labels] == list(range(1, 23))
    # an article spans several paragraphs until the next 第X条
    first = pit.articles[0].text
    assert first.startswith("第一条 ") and "非居民个人" in first and "纳税年度，自公历一月一日" in first
    assert "（八）财产转让所得" in pit.articles[1].text
    # the amendment history under the title is not a substantive preamble
    assert all(a.label != "序言" for a in pit.articles)
    assert pit.doc_number == "主席令第九号" and pit.tax_types == ("个人所得税",)


def test_chapters_and_sections_are_kept(docs: dict) -> None:
    cit = next(d for d in docs.values() if d.title == "中华人民共和国企业所得税法")
    by_label = {a.label: a for a in cit.articles}
    assert by_label["第一条"].chapter == "第一章 总则"
    assert by_label["第六十条"].chapter == "第八章 附则"
    assert len(cit.articles) == 60
    collection = next(d for d in docs.values() if d.title == "中华人民共和国税收征收管理法")
    registration = next(a for a in collection.articles if "税务登记" in a.section)
    assert registration.section == "第一节 税务登记" and registration.chapter.startswith("第二章")


def test_announcements_are_split_by_paragraph(docs: dict) -> None:
    sta = docs["sta-2026-4"]
    assert sta.doc_number == "国家税务总局公告2026年第4号"
    labels = [a.label for a in sta.articles]
    assert labels[0] == "第1段" and labels == [f"第{i}段" for i in range(1, len(labels) + 1)]
    assert all(len(a.text) >= 40 for a in sta.articles[:-1])  # short paragraphs merged into the next
    assert any("起征点" in a.text for a in sta.articles)
    # the title line is not repeated as a chunk
    assert sta.articles[0].text != sta.title


def test_announcement_with_attached_measures_keeps_a_preamble(docs: dict) -> None:
    sta = docs["sta-2018-28"]
    assert sta.articles[0].label == "序言" and "现予以发布" in sta.articles[0].text
    assert sta.articles[1].label == "第一条"


def test_front_matter_fields(docs: dict, corpus_dir: Path) -> None:
    vat = docs["reg-vat-interim-2017"]
    assert vat.status == DocStatus.REPEALED and vat.superseded_by == "law-vat-2024"
    multi = next(d for d in docs.values() if len(d.supersedes) > 1)
    assert all(multi.supersedes)  # "A；B" split into entries
    doc, notes = load_file(corpus_dir / "local" / "青岛市" / "青岛市税收征收协助条例.md")
    assert doc.region == "青岛市" and doc.doc_type == "地方性法规"
    assert notes == ["文号: empty in the front matter"]
