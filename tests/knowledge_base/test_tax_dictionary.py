"""The jieba tax dictionary: well-formed, alone in its folder, and keeping key terms whole."""

from __future__ import annotations

import re

import pytest

from index.tokenize import cut
from knowledge_base.dictionary import DICTIONARY_DIR, DICTIONARY_FILE
from knowledge_base.synonyms import read_synonym_table

KEY_TERMS = [
    "增值税",
    "消费税",
    "企业所得税",
    "个人所得税",
    "印花税",
    "契税",
    "土地增值税",
    "城市维护建设税",
    "车辆购置税",
    "小规模纳税人",
    "一般纳税人",
    "留抵退税",
    "专项附加扣除",
    "汇算清缴",
    "数电发票",
    "增值税专用发票",
    "六税两费",
    "个体工商户",
    "小型微利企业",
    "研发费用加计扣除",
    "纳税信用",
    "电子税务局",
    "大病医疗",
    "子女教育",
    "赡养老人",
    "住房贷款利息",
    "住房租金",
    "继续教育",
    "3岁以下婴幼儿照护",
    "征收率",
    "起征点",
    "免征额",
    "应纳税所得额",
]


def _entries() -> list[list[str]]:
    return [line.split(" ") for line in DICTIONARY_FILE.read_text(encoding="utf-8").splitlines()]


def test_only_one_file_in_the_jieba_folder() -> None:
    # Rasa's JiebaTokenizer loads every file in this folder
    assert [p.name for p in DICTIONARY_DIR.iterdir()] == ["tax_terms.txt"]


def test_format_word_freq_tag() -> None:
    entries = _entries()
    assert len(entries) >= 300
    words = [e[0] for e in entries]
    assert len(words) == len(set(words)), "duplicate words"
    for entry in entries:
        assert len(entry) == 3 and entry[1].isdigit() and re.fullmatch(r"[a-z]+", entry[2]), entry


def test_dictionary_holds_key_terms_and_every_synonym() -> None:
    words = {e[0] for e in _entries()}
    assert set(KEY_TERMS) <= words
    table = read_synonym_table()
    assert set(table) <= words
    assert {a for aliases in table.values() for a in aliases} <= words


@pytest.mark.parametrize("term", KEY_TERMS)
def test_key_terms_stay_whole_in_sentences(term: str) -> None:
    assert term.lower() in cut(f"请问{term}怎么办理")


@pytest.mark.parametrize(
    ("sentence", "words"),
    [
        ("数电票和专票有什么区别", ["数电票", "专票"]),
        ("个体户要汇算清缴吗", ["个体户", "汇算清缴"]),
        ("小规模季度销售额30万以下免征增值税吗", ["小规模", "增值税"]),
        ("个税专项扣除附加怎么填", ["个税", "专项扣除附加"]),
    ],
)
def test_aliases_stay_whole(sentence: str, words: list[str]) -> None:
    tokens = cut(sentence)
    assert all(w in tokens for w in words), tokens
