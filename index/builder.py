"""Building and updating the index from the knowledge store (full build, incremental changes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from index.encoder import Encoder, Progress, encoder_from_name
from index.hybrid import HybridRetriever
from index.persistence import load_version, published_seq, save_version
from index.table import IndexTable
from knowledge_base.linking import link_repeals
from knowledge_base.models import Document


def make_encoder(model: str) -> Encoder:
    return encoder_from_name(model)


def build_table(
    docs: Sequence[Document], faqs: Sequence, encoder: Encoder, *, kind: str = "flat",
    progress: Progress | None = None,
) -> IndexTable:  # fmt: skip
    table = IndexTable(encoder, kind=kind)
    table.build(link_repeals([d for d in docs if not d.withdrawn]), faqs, progress=progress)
    return table


def build_from_store(
    store, encoder: Encoder, root: Path, *, kind: str = "flat", meta: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[HybridRetriever, Path]:  # fmt: skip
    """Full rebuild from every document and FAQ in the store; the new version becomes CURRENT."""
    seq = store.last_change_seq()
    table = build_table(store.list_documents(), store.list_faqs(), encoder, kind=kind, progress=progress)
    directory = save_version(table, root, {**(meta or {}), "store_seq": seq})
    retriever = HybridRetriever(table)
    retriever.store_seq = seq
    return retriever, directory


def load_retriever(
    root: Path, encoder: Encoder, *, version: str | None = None
) -> tuple[HybridRetriever, dict[str, Any]]:
    """Load ``version`` (default: CURRENT) as it is; ``index.recovery.open_index`` also recovers."""
    table, manifest = load_version(root, encoder, version=version)
    retriever = HybridRetriever(table)
    retriever.store_seq = int(manifest.get("store_seq", 0))
    return retriever, manifest


def _relink(table: IndexTable, new_doc: Document | None = None) -> None:
    """Recompute repeal dates over the indexed documents (a new law may end an older one)."""
    docs = [new_doc if new_doc and d.id == new_doc.id else d for d in table.docs.values()]
    if new_doc and new_doc.id not in table.docs:
        docs.append(new_doc)
    for linked in link_repeals(docs):
        current = table.docs.get(linked.id)
        if current and (current.expires, current.superseded_by) != (linked.expires, linked.superseded_by):
            table.docs[linked.id] = replace(
                current, expires=linked.expires, superseded_by=linked.superseded_by
            )
    table._reindex_rows()


def apply_changes(retriever: HybridRetriever, store, *, root: Path | None = None) -> int:
    """Apply the store's changes since the index's ``store_seq``; persist when ``root`` is given.

    Returns the number of changes applied (0 when the index is up to date).
    """
    changes = store.changes_since(retriever.store_seq)
    if not changes:
        return 0
    table = retriever.table
    with retriever.lock:
        for change in changes:
            if change.kind == "document":
                doc = store.get_document(change.key)
                if doc is None or doc.withdrawn or change.op == "withdraw":
                    table.remove_document(change.key)
                else:
                    others = [d for d in table.docs.values() if d.id != doc.id]
                    linked = next(d for d in link_repeals([*others, doc]) if d.id == doc.id)
                    table.upsert_document(linked)
                    _relink(table, None)
            elif change.kind == "faq":
                entry = store.get_faq(change.key)
                if entry is None or change.op == "withdraw":
                    table.remove_faq(change.key)
                else:
                    table.upsert_faq(entry)
        seq = changes[-1].seq
        # saved first: a failed write (disk full) is retried by the next sync; skipped when another replica
        # following the same store has already published this state (the same changes on the same base)
        if root is not None and published_seq(root) < seq:
            save_version(table, root, {"store_seq": seq, "incremental": True})
        retriever.store_seq = seq
    return len(changes)
