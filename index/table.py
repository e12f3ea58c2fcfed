"""The live index state: documents, chunk rows, their tokens and vectors, the BM25 and FAISS engines, FAQs.

Mutations (add/replace/remove one document or FAQ) keep every structure aligned without a full rebuild:
the document's chunks are encoded, FAISS gets add/remove by key, BM25 is re-indexed from cached tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.bm25 import BM25Index
from index.chunks import ChunkRecord, document_chunks, metadata_only, passage
from index.dense import DenseIndex
from index.encoder import Encoder, Progress
from index.faq import FaqMatcher
from index.ranking import DocumentKeys, document_keys
from index.tokenize import analyse, normalise_text
from knowledge_base.models import Document, FaqEntry


class IndexTable:
    def __init__(self, encoder: Encoder, *, kind: str = "flat") -> None:
        self.encoder = encoder
        self.kind = kind
        self.docs: dict[str, Document] = {}
        self.keys: dict[str, DocumentKeys] = {}
        self.rows: list[ChunkRecord] = []
        self.tokens: list[list[str]] = []
        self.vectors = np.zeros((0, encoder.dim), dtype=np.float32)
        self.bm25 = BM25Index()
        self.dense = DenseIndex(encoder.dim, kind)
        self.faq = FaqMatcher()
        self.faq_vectors = np.zeros((0, encoder.dim), dtype=np.float32)
        self.next_key = 0
        self.version = 0  # bumped on every mutation (filter caches key on it)
        self._reindex_rows()

    # ---- bulk build -------------------------------------------------------------------------------
    def build(
        self, docs: Sequence[Document], faqs: Sequence[FaqEntry], *, progress: Progress | None = None
    ) -> None:
        self.docs, self.rows, self.tokens = {}, [], []
        texts: list[str] = []
        key = 0
        for doc in docs:
            if doc.withdrawn:
                continue
            chunks = document_chunks(doc, key)
            key += len(chunks)
            by_seq = {a.seq: a for a in doc.articles}
            self.docs[doc.id] = metadata_only(doc)
            for c in chunks:
                tokens, normalised = analyse(passage(doc, by_seq[c.seq]))
                texts.append(normalised)
                self.tokens.append(tokens)
            self.rows.extend(chunks)
        self.next_key = key
        self.vectors = self.encoder.encode(texts, progress=progress).reshape(len(texts), self.encoder.dim)
        self.dense = DenseIndex(self.encoder.dim, self.kind)
        self.dense.build(self.row_keys_array(), self.vectors)
        self.bm25.build(self.tokens)
        self.set_faqs(faqs)
        self._reindex_rows()

    def set_faqs(self, faqs: Sequence[FaqEntry], vectors: np.ndarray | None = None) -> None:
        faqs = list(faqs)
        if vectors is None:
            variants = [normalise_text(v) for e in faqs for v in FaqMatcher.variants(e)]
            vectors = self.encoder.encode(variants).reshape(len(variants), self.encoder.dim)
        self.faq.set_entries(faqs, vectors)
        self.faq_vectors = vectors
        self.version += 1

    # ---- incremental ------------------------------------------------------------------------------
    def upsert_document(self, doc: Document) -> int:
        """Add or replace one document; returns its number of chunks now searchable."""
        self._drop_rows(doc.id)
        self.docs.pop(doc.id, None)
        if doc.withdrawn:
            self._after_change()
            return 0
        chunks = document_chunks(doc, self.next_key)
        self.next_key += len(chunks)
        by_seq = {a.seq: a for a in doc.articles}
        analysed = [analyse(passage(doc, by_seq[c.seq])) for c in chunks]
        vectors = self.encoder.encode([text for _, text in analysed]).reshape(len(chunks), self.encoder.dim)
        self.docs[doc.id] = metadata_only(doc)
        self.rows.extend(chunks)
        self.tokens.extend(tokens for tokens, _ in analysed)
        self.vectors = np.vstack([self.vectors, vectors]) if len(vectors) else self.vectors
        self.dense.add(np.array([c.key for c in chunks], dtype=np.int64), vectors)
        self._after_change()
        return len(chunks)

    def remove_document(self, doc_id: str) -> bool:
        if doc_id not in self.docs:
            return False
        self._drop_rows(doc_id)
        del self.docs[doc_id]
        self._after_change()
        return True

    def upsert_faq(self, entry: FaqEntry) -> None:
        entries = [e for e in self.faq.entries.values() if e.id != entry.id]
        keep = self._faq_rows_except(entry.id)
        vec = self.encoder.encode([normalise_text(v) for v in FaqMatcher.variants(entry)])
        self.set_faqs([*entries, entry], np.vstack([self.faq_vectors[keep], vec]))

    def remove_faq(self, faq_id: str) -> bool:
        if faq_id not in self.faq.entries:
            return False
        entries = [e for e in self.faq.entries.values() if e.id != faq_id]
        self.set_faqs(entries, self.faq_vectors[self._faq_rows_except(faq_id)])
        return True

    # ---- helpers ----------------------------------------------------------------------------------
    def _faq_rows_except(self, faq_id: str) -> np.ndarray:
        owners = [e.id for e in self.faq.entries.values() for _ in FaqMatcher.variants(e)]
        return np.array([i for i, o in enumerate(owners) if o != faq_id], dtype=np.int64)

    def _drop_rows(self, doc_id: str) -> None:
        drop = [i for i, r in enumerate(self.rows) if r.doc_id == doc_id]
        if not drop:
            return
        self.dense.remove(np.array([self.rows[i].key for i in drop], dtype=np.int64))
        keep = np.ones(len(self.rows), dtype=bool)
        keep[drop] = False
        self.rows = [r for r, k in zip(self.rows, keep, strict=True) if k]
        self.tokens = [t for t, k in zip(self.tokens, keep, strict=True) if k]
        self.vectors = self.vectors[keep]

    def _after_change(self) -> None:
        self.bm25.build(self.tokens)
        self._reindex_rows()

    def row_keys_array(self) -> np.ndarray:
        return np.array([r.key for r in self.rows], dtype=np.int64)

    def _reindex_rows(self) -> None:
        self.row_keys = self.row_keys_array()
        self.key_row = {int(k): i for i, k in enumerate(self.row_keys)}
        self.doc_order = list(self.docs)
        ordinal = {d: i for i, d in enumerate(self.doc_order)}
        self.row_doc = np.array([ordinal[r.doc_id] for r in self.rows], dtype=np.int64)
        self.keys = {d.id: document_keys(d) for d in self.docs.values()}
        self.tax_vocabulary = sorted({t for d in self.docs.values() for t in d.tax_types})
        self.version += 1
