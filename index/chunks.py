"""Searchable chunks: one per article (or announcement paragraph), with the text the engines index."""

from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge_base.models import Article, Document

MAX_PASSAGE_CHARS = 512


@dataclass(frozen=True)
class ChunkRecord:
    key: int  # int64 id shared by the dense index and the row table
    doc_id: str
    seq: int
    label: str
    chapter: str
    text: str

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.seq}"


def short_title(title: str) -> str:
    return title.removeprefix("中华人民共和国")


def passage(doc: Document, article: Article) -> str:
    """What BM25 and the encoder see: short title, chapter and label give the article its context."""
    head = " ".join(x for x in (short_title(doc.title), article.chapter, article.label) if x)
    return f"{head} {article.text}"[:MAX_PASSAGE_CHARS]


def document_chunks(doc: Document, first_key: int) -> list[ChunkRecord]:
    return [
        ChunkRecord(first_key + i, doc.id, a.seq, a.label, a.chapter, a.text)
        for i, a in enumerate(a for a in doc.articles if a.text.strip())
    ]


def metadata_only(doc: Document) -> Document:
    """The document without its article texts (those live in the chunk table)."""
    return replace(doc, articles=())
