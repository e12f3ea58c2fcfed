"""Retrieval fixtures: the shared corpus (real regulations), small synthetic documents, a fast encoder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from index.builder import build_table
from index.encoder import HashingEncoder
from index.hybrid import HybridRetriever
from knowledge_base.models import Article, Citation, DocType, Document, FaqEntry


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    return shared_dir / "corpus"


@pytest.fixture(scope="session")
def dev_questions(shared_dir: Path) -> Path:
    path = shared_dir / "eval" / "dev.jsonl"
    if not path.is_file():
        pytest.fail(f"test data missing: {path}")
    return path


@pytest.fixture(scope="session")
def corpus_docs(corpus_dir: Path) -> list[Document]:
    from knowledge_base.loaders import load_paths

    report = load_paths([corpus_dir])
    assert report.documents, f"no documents loaded from {corpus_dir}"
    return report.documents


@pytest.fixture(scope="session")
def encoder() -> HashingEncoder:
    return HashingEncoder(256)


@pytest.fixture(scope="session")
def corpus_retriever(corpus_docs, encoder) -> HybridRetriever:
    return HybridRetriever(build_table(corpus_docs, [], encoder))


def make_doc(doc_id: str, title: str, texts: list[str], **kw) -> Document:
    arts = tuple(Article(doc_id, i, f"第{i + 1}条", t) for i, t in enumerate(texts))
    kw.setdefault("doc_type", DocType.NORMATIVE)
    kw.setdefault("effective", date(2020, 1, 1))
    return Document(id=doc_id, title=title, articles=arts, **kw)


@pytest.fixture
def small_docs() -> list[Document]:
    return [
        make_doc(
            "nat-vat",
            "增值税若干问题的公告",
            ["小规模纳税人增值税征收率为百分之三。", "一般纳税人进项税额抵扣。"],
            doc_number="国家税务总局公告2020年第1号",
            tax_types=("增值税",),
        ),
        make_doc(
            "bj-env",
            "北京市环境保护税适用税额的决定",
            ["北京市应税大气污染物适用税额为每污染当量12元。"],
            region="北京市",
            doc_type=DocType.LOCAL_REGULATION,
            tax_types=("环境保护税",),
        ),
        make_doc(
            "sh-env",
            "上海市环境保护税适用税额的决定",
            ["上海市应税大气污染物适用税额为每污染当量8元。"],
            region="上海市",
            doc_type=DocType.LOCAL_REGULATION,
            tax_types=("环境保护税",),
        ),
        make_doc(
            "gd-env",
            "广东省环境保护税适用税额的决定",
            ["广东省应税大气污染物适用税额为每污染当量1.8元。"],
            region="广东省",
            doc_type=DocType.LOCAL_REGULATION,
            tax_types=("环境保护税",),
        ),
        make_doc(
            "nat-env",
            "环境保护税法",
            ["应税大气污染物的税额幅度为每污染当量1.2元至12元。"],
            doc_type=DocType.LAW,
            tax_types=("环境保护税",),
            doc_number="主席令第六十一号",
        ),
    ]


@pytest.fixture
def small_faqs() -> list[FaqEntry]:
    return [
        FaqEntry(
            id="faq-rate", question="小规模纳税人增值税征收率是多少？",
            similar_questions=("小规模纳税人征收率多少", "小规模增值税按几个点交"),
            answer="小规模纳税人增值税征收率为3%。", citations=(Citation("nat-vat", "第1条"),),
            tax_types=("增值税",),
        ),
        FaqEntry(
            id="faq-bj", question="北京市大气污染物环保税税额是多少？",
            similar_questions=("北京大气污染物环境保护税多少钱", "北京环保税税额"),
            answer="每污染当量12元。", citations=(Citation("bj-env", "第1条"),), region="北京市",
        ),
    ]  # fmt: skip


@pytest.fixture
def small_retriever(small_docs, small_faqs, encoder) -> HybridRetriever:
    return HybridRetriever(build_table(small_docs, small_faqs, encoder))
