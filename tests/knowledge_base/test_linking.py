"""Repeal linking: successors' effective dates become the repealed documents' end dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from knowledge_base.linking import link_repeals, repeal_mentions
from knowledge_base.loaders import load_paths
from knowledge_base.models import Article, DocStatus, Document


def _doc(doc_id: str, title: str, effective: date | None, *texts: str, **kw) -> Document:
    arts = tuple(Article(doc_id, i, f"第{i + 1}段", t) for i, t in enumerate(texts))
    return Document(id=doc_id, title=title, effective=effective, articles=arts, **kw)


def test_repeal_by_title_in_text() -> None:
    old = _doc("reg-old", "中华人民共和国增值税暂行条例", date(2017, 11, 19), "第一条 旧规定。")
    new = _doc(
        "law-new",
        "中华人民共和国增值税法",
        date(2026, 1, 1),
        "第三十八条 本法自2026年1月1日起施行。《中华人民共和国增值税暂行条例》同时废止。",
    )
    linked = {d.id: d for d in link_repeals([old, new])}
    assert linked["reg-old"].expires == date(2026, 1, 1)
    assert linked["reg-old"].superseded_by == "law-new"
    assert linked["law-new"].expires is None
    assert not linked["reg-old"].in_force(date(2026, 3, 1)) and linked["reg-old"].in_force(date(2025, 3, 1))


def test_repeal_date_in_the_sentence_and_by_short_doc_number() -> None:
    old = _doc(
        "sta-2023-1",
        "国家税务总局关于某事项的公告",
        date(2023, 1, 1),
        "正文。",
        doc_number="国家税务总局公告2023年第1号",
    )
    renamed = _doc(
        "sta-2019-9",
        "国家税务总局关于另一事项的公告",
        date(2019, 1, 1),
        "x",
        doc_number="国家税务总局公告2019年第9号",
    )
    new = _doc(
        "sta-2026-4",
        "国家税务总局关于新事项的公告",
        date(2026, 1, 1),
        "《国家税务总局关于旧称呼的公告》（2019年第9号）自2026年3月1日起废止。",
        "五、本公告自2026年1月1日起施行。《国家税务总局关于某事项的公告》（2023年第1号）同时废止。",
    )
    linked = {d.id: d for d in link_repeals([old, renamed, new])}
    assert linked["sta-2023-1"].expires == date(2026, 1, 1)
    assert linked["sta-2019-9"].expires == date(
        2026, 3, 1
    )  # resolved through its 文号, dated by the sentence


def test_partial_repeal_does_not_end_the_document() -> None:
    old = _doc("sta-2019-14", "国家税务总局关于深化增值税改革有关事项的公告", date(2019, 4, 1), "第八条 ……")
    new = _doc(
        "sta-2023-1",
        "新公告",
        date(2023, 1, 1),
        "《国家税务总局关于深化增值税改革有关事项的公告》（2019年第14号）第八条及附件同时废止。",
    )
    assert link_repeals([old, new])[0].expires is None
    assert repeal_mentions(new.articles[0].text) == [
        ("国家税务总局关于深化增值税改革有关事项的公告", "2019年第14号", None, True)
    ]


def test_superseded_by_and_supersedes() -> None:
    a = _doc("a", "甲", date(2019, 1, 1), "x", superseded_by="b", status=DocStatus.AMENDED)
    b = _doc("b", "甲", date(2024, 12, 6), "y")
    c = _doc("c", "丙", date(2010, 1, 1), "z", doc_number="国税发〔2010〕40号")
    d = _doc("d", "丁", date(2026, 1, 1), "w", supersedes=("国税发〔2010〕40号",))
    linked = {x.id: x for x in link_repeals([a, b, c, d])}
    assert linked["a"].expires == date(2024, 12, 6) and linked["b"].expires is None
    assert linked["c"].expires == date(2026, 1, 1) and linked["c"].superseded_by == "d"


def test_never_invents_a_date() -> None:
    old = _doc("old", "某条例", date(2000, 1, 1), "x")
    undated = _doc("new", "某法", None, "《某条例》同时废止。")
    known_end = _doc(
        "kept", "另一条例", date(2000, 1, 1), "x", expires=date(2015, 1, 1), superseded_by="new2"
    )
    new2 = _doc("new2", "另一法", date(2020, 1, 1), "《另一条例》同时废止。")
    linked = {x.id: x for x in link_repeals([old, undated, known_end, new2])}
    assert linked["old"].expires is None  # the repealing text has no date
    assert linked["kept"].expires == date(2015, 1, 1)  # a known date is never overwritten


def test_a_text_repealing_its_own_older_version_does_not_end_itself() -> None:
    current = _doc(
        "reg",
        "中华人民共和国进出口关税条例",
        date(2017, 3, 1),
        "本条例自2004年1月1日起施行。1992年3月18日国务院修订发布的《中华人民共和国进出口关税条例》同时废止。",
    )
    assert link_repeals([current])[0].expires is None


def test_corpus_repeals(corpus_dir: Path) -> None:
    docs = {d.id: d for d in link_repeals(load_paths([corpus_dir]).documents)}
    assert docs["reg-vat-interim-2017"].expires == date(2026, 1, 1)
    assert docs["reg-stamp-interim-2011"].expires == date(2022, 7, 1)
    assert docs["reg-tariff-2017"].expires == date(2024, 12, 1)
    assert docs["jud-tax-evasion-2002"].expires == date(2024, 3, 20)
    assert docs["sta-2023-1"].expires == date(2026, 1, 1)
    assert docs["sta-2019-45"].expires is None  # only 第二条第二款 was repealed
    assert docs["law-vat-2024"].expires is None and docs["law-pit-2018"].expires is None
    for doc in docs.values():
        if doc.status == DocStatus.REPEALED:
            assert doc.expires is not None or doc.status_note, doc.id
