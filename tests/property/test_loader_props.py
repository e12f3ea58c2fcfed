"""The document loaders (``knowledge_base.loaders.load_file``): whatever a .txt, .md or .html file holds,
the result is a Document or a ``LoaderError`` naming the file, never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge_base.loaders import load_file
from knowledge_base.models import Document
from taxbot.errors import BrokenFile, LoaderError
from tests.property.strategies import any_text

SUFFIXES = st.sampled_from([".txt", ".md", ".html"])
ARTICLE_LINES = st.lists(
    st.one_of(
        any_text,
        st.sampled_from(
            ["第一条 增值税税率为百分之十三。", "第二章 征收管理", "第十条", "财税〔2026〕1号", "附件："]
        ),
    ),
    max_size=8,
)
FRONT_MATTER = st.sampled_from(
    ["---\n", "---\ntitle: [\n---\n", "---\ntitle: 1\neffective: 2026-13-45\n---\n", "---\n- a\n---\n",
     "---\ntitle: 测试\nregion: 火星\nstatus: whatever\n---\n", "---\n!!python/object:os.system ls\n---\n",
     "---\ntitle: &a [*a]\n---\n", "<!DOCTYPE html><html><body><h1>标题</h1>", "<script>alert(1)</script>"]
)  # fmt: skip
contents = st.one_of(
    st.binary(max_size=400),
    any_text.map(lambda text: text.encode("utf-8")),
    st.tuples(FRONT_MATTER, ARTICLE_LINES).map(lambda parts: (parts[0] + "\n".join(parts[1])).encode()),
    ARTICLE_LINES.map(lambda lines: "\n".join(lines).encode("gb18030", errors="ignore")),
)


@given(suffix=SUFFIXES, data=contents)
def test_any_file_loads_or_raises_a_loader_error(suffix: str, data: bytes):
    with tempfile.TemporaryDirectory(prefix="taxbot-prop-") as tmp:
        path = Path(tmp) / f"文件{suffix}"
        path.write_bytes(data)
        try:
            doc, notes = load_file(path)
        except LoaderError as exc:
            assert str(path) in str(exc) or path.name in str(exc), str(exc)
            return
    assert isinstance(doc, Document) and doc.id and doc.articles
    assert all(isinstance(note, str) for note in notes)


@pytest.mark.parametrize("front", ["id: 0000-01-01", "id: x\ntitle: t\neffective: 2026-02-30"])
def test_dates_yaml_reads_but_python_cannot_are_a_broken_file(tmp_path: Path, front: str):
    """Regression: PyYAML raised a bare ValueError for these, an upload of such a file was a 500."""
    path = tmp_path / "坏日期.md"
    path.write_text(f"---\n{front}\n---\n第一条 内容。\n", encoding="utf-8")
    with pytest.raises(BrokenFile, match="front matter"):
        load_file(path)
