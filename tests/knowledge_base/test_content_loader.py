"""The content loader on small content folders written here: merging, validation, fingerprints."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from knowledge_base.content_loader import content_fingerprint, load_content

DOC_A = """
- id: law-x
  title: 中华人民共和国测试法
  doc_number: 主席令第一号
  issuer: 全国人民代表大会常务委员会
  doc_type: 法律
  region: 全国
  published: 2024-12-25
  effective: 2026-01-01
  status: 有效
  supersedes: [reg-y]
  tax_types: [增值税]
  articles:
    - label: 第十条
      chapter: 第二章 税率
      text: >-
        税率一般为13%。
    - label: 第十一条
      text: 征收率为3%。
"""
DOC_A_MORE = """
- id: law-x
  title: 中华人民共和国测试法
  doc_number: 主席令第一号
  issuer: 全国人民代表大会常务委员会
  doc_type: 法律
  region: 全国
  published: 2024-12-25
  effective: 2026-01-01
  status: 有效
  supersedes: [reg-y]
  tax_types: [增值税]
  articles:
    - {label: 第十条, text: 另一份摘要（第一份优先）。}
    - {label: 第三十八条, text: 本法自2026年1月1日起施行。}
"""
FAQ = """
- id: faq-1
  question: 测试法什么时候施行？
  similar: [测试法哪天生效, 测试法从什么时候开始]
  answer: >-
    自2026年1月1日起施行。
  citations:
    - {doc: law-x, article: 第三十八条}
  region: 全国
  tax_types: [增值税]
  valid_from: 2026-01-01
"""
LOCAL = """
documents:
  - id: local-bj-1
    title: 北京市测试规定
    doc_type: 地方政府规章
    region: 北京市
    effective: 2025-01-01
    articles:
      - {label: 第三条, text: 本市规定。}
faq:
  - id: faq-bj-1
    question: 北京怎么办？
    similar: [北京市怎么处理, 在北京如何办理]
    answer: 按本市规定。
    citations: [{doc: local-bj-1, article: 第三条}]
    region: 北京市
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_valid_content_merges_same_id_documents(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "documents/a.yml": DOC_A,
            "documents/b.yml": DOC_A_MORE,
            "faq/a.yml": FAQ,
            "local/北京市.yml": LOCAL,
        },
    )
    content = load_content(root)
    assert content.problems == []
    docs = {d.id: d for d in content.documents}
    law = docs["law-x"]
    assert [(a.label, a.seq) for a in law.articles] == [("第十条", 0), ("第十一条", 1), ("第三十八条", 2)]
    assert law.articles[0].text == "税率一般为13%。" and law.articles[0].chapter == "第二章 税率"
    assert law.effective == date(2026, 1, 1) and law.supersedes == ("reg-y",)
    assert docs["local-bj-1"].region == "北京市"
    faqs = {f.id: f for f in content.faqs}
    assert faqs["faq-1"].similar_questions == ("测试法哪天生效", "测试法从什么时候开始")
    assert faqs["faq-1"].citations[0].article == "第三十八条" and faqs["faq-1"].valid_from == date(2026, 1, 1)
    assert faqs["faq-bj-1"].region == "北京市"


def test_problems_are_reported_not_raised(tmp_path: Path) -> None:
    disagreeing = DOC_A_MORE.replace("effective: 2026-01-01", "effective: 2026-02-01")
    disagreeing = disagreeing.replace("status: 有效", "status: 有效\n  source: 中国人大网")
    bad_faq = """
- id: faq-1
  question: 重复的编号
  similar: [只有一个]
  answer: 答
  citations: [{doc: law-x, article: 第九十九条}, {doc: law-missing}]
  region: 火星
  valid_to: 2026-13-01
  colour: red
- id: faq-2
  question: 日期颠倒
  similar: [a, b]
  answer: |
    第一行
      第二行
  citations: [{doc: law-x}]
  valid_from: 2026-05-01
  valid_to: 2026-04-30
- id: faq-1
  question: 又一个
  similar: [a, b]
  answer: c
  citations: [{doc: law-x}]
"""
    root = _write(
        tmp_path,
        {
            "documents/a.yml": DOC_A,
            "documents/b.yml": disagreeing,
            "documents/broken.yml": "- id: [unclosed\n",
            "faq/a.yml": bad_faq,
            "local/x.yml": "- not a mapping\n",
        },
    )
    content = load_content(root)
    text = "\n".join(content.problems)
    for expected in (
        "effective=datetime.date(2026, 2, 1) disagrees",
        "broken.yml: cannot read YAML",
        "needs at least 2 similar questions, has 1",
        "'第九十九条', not in its articles",
        "unknown document 'law-missing'",
        "region '火星' is not a known region",
        "valid_to='2026-13-01' is not a YYYY-MM-DD date",
        "unknown key 'colour'",
        "faq id 'faq-1' is used twice",
        "x.yml: must be a mapping",
        "faq 'faq-2': valid_to 2026-04-30 is before valid_from 2026-05-01",
    ):
        assert expected in text, expected
    assert all(p.startswith(str(tmp_path)) for p in content.problems)
    assert [d.id for d in content.documents] == ["law-x"]  # the batch went on
    assert content.documents[0].source == "中国人大网"  # given in one file only: taken, no problem
    assert "source=" not in text
    assert {f.id: f for f in content.faqs}[
        "faq-2"
    ].answer == "第一行\n第二行"  # line breaks of a | block kept


def test_missing_folder(tmp_path: Path) -> None:
    assert "content folder not found" in load_content(tmp_path / "nope").problems[0]


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    root = _write(tmp_path, {"documents/a.yml": DOC_A, "faq/a.yml": FAQ})
    first = content_fingerprint(root)
    assert first == content_fingerprint(root) and len(first) == 16
    (root / "faq" / "a.yml").write_text(FAQ.replace("自2026年", "从2026年"), encoding="utf-8")
    assert content_fingerprint(root) != first
    (root / "notes.txt").write_text("ignored", encoding="utf-8")
    assert content_fingerprint(root) == content_fingerprint(root)
