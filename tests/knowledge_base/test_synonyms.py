"""Synonyms: what taxpayers type, mapped to canonical terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.synonyms import load_synonyms, normalize_terms, read_synonym_table
from taxbot.errors import KnowledgeBaseError


def test_required_aliases() -> None:
    table = load_synonyms()
    expected = {
        "个税": "个人所得税",
        "专票": "增值税专用发票",
        "普票": "增值税普通发票",
        "数电票": "全面数字化的电子发票",
        "数电发票": "全面数字化的电子发票",
        "全电发票": "全面数字化的电子发票",
        "专项扣除附加": "专项附加扣除",
        "企税": "企业所得税",
        "小规模": "小规模纳税人",
        "个体户": "个体工商户",
    }
    assert {alias: table[alias] for alias in expected} == expected


def test_no_alias_is_also_a_canonical_term() -> None:
    table = read_synonym_table()
    aliases = [a for values in table.values() for a in values]
    assert len(aliases) == len(set(aliases))
    assert not set(aliases) & set(table)


def test_normalize_terms() -> None:
    assert normalize_terms(["个税", "专项扣除附加", "怎么", "填"]) == [
        "个人所得税",
        "专项附加扣除",
        "怎么",
        "填",
    ]
    assert normalize_terms(["个税app"]) == ["个人所得税应用程序"]
    assert normalize_terms([]) == []


def test_bad_synonyms_file(tmp_path: Path) -> None:
    bad = tmp_path / "synonyms.yml"
    bad.write_text("个人所得税: 个税\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="个人所得税"):
        load_synonyms(bad)
    clash = tmp_path / "clash.yml"
    clash.write_text("增值税专用发票: [专票]\n专项附加扣除: [专票]\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="专票"):
        load_synonyms(clash)
