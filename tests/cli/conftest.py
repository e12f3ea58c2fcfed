"""CLI fixtures: a tiny shipped-content folder (own words) and a fast encoder via the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = """\
- id: test-vat-law
  title: 测试增值税法
  doc_number: 主席令第九十九号
  issuer: 全国人民代表大会常务委员会
  doc_type: 法律
  region: 全国
  published: 2024-12-25
  effective: 2026-01-01
  status: 有效
  tax_types: [增值税]
  source: test
  articles:
    - label: 第十条
      text: 增值税税率一般为百分之十三，特定货物百分之九，服务百分之六。
    - label: 第十一条
      text: 小规模纳税人适用简易计税，征收率为百分之三。
- id: test-bj-rule
  title: 北京市测试房产税规定
  doc_number: 京测〔2026〕1号
  issuer: 北京市人民政府
  doc_type: 地方政府规章
  region: 北京市
  published: 2026-01-01
  effective: 2026-01-01
  status: 有效
  tax_types: [房产税]
  source: test
  articles:
    - label: 第三条
      text: 北京市个人出租住房的房产税按租金收入的百分之四计征。
"""

FAQ = """\
- id: faq-test-rate
  question: 小规模纳税人增值税征收率是多少？
  similar: [小规模纳税人征收率多少, 小规模增值税按几个点交]
  answer: 征收率为百分之三。
  citations:
    - {doc: test-vat-law, article: 第十一条}
  region: 全国
  tax_types: [增值税]
"""


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    (content / "documents").mkdir(parents=True)
    (content / "faq").mkdir()
    (content / "documents" / "test.yml").write_text(DOCS, encoding="utf-8")
    (content / "faq" / "test.yml").write_text(FAQ, encoding="utf-8")
    return content


@pytest.fixture
def env(monkeypatch, content_dir: Path, tmp_path: Path) -> Path:
    """A workspace folder; the encoder is the hashing one so no model is needed."""
    monkeypatch.setenv("TAXBOT_EMBEDDING_MODEL", "hashing-256")
    monkeypatch.setenv("TAXBOT_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("TAXBOT_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "ws"
