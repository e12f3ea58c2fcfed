"""Workspace operations behind `taxbot kb ...`: init from shipped content, ingest files, rebuild, evaluate."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.builder import apply_changes, build_from_store, make_encoder
from index.encoder import Encoder, Progress
from index.eval import evaluate, load_questions
from index.persistence import check_identity, current_version, read_manifest
from index.recovery import open_index
from knowledge_base.content_loader import content_fingerprint, load_content
from knowledge_base.loaders import LoadReport, load_paths
from knowledge_base.store import KnowledgeStore, open_store
from taxbot.errors import ConfigError, IndexMismatch
from taxbot.settings import Settings

CONTENT_META = "content_fingerprint"


def index_root(settings: Settings) -> Path:
    return settings.data_dir / "index"


def settings_encoder(settings: Settings) -> Encoder:
    return make_encoder(settings.resolved_embedding_model)


def open_settings_store(settings: Settings) -> KnowledgeStore:
    return open_store(settings.resolved_database_url)


@dataclass
class InitResult:
    skipped: bool
    documents: int = 0
    faqs: int = 0
    problems: list[str] = field(default_factory=list)
    version: str | None = None


def _index_matches(root: Path, encoder: Encoder, kind: str) -> bool:
    if not current_version(root):
        return False
    try:
        directory, manifest = read_manifest(root)
        check_identity(manifest, encoder, directory)
    except (IndexMismatch, Exception):  # any unreadable index simply gets rebuilt
        return False
    return manifest.get("index_kind") == kind


def init_workspace(
    settings: Settings, *, force: bool = False, progress: Progress | None = None
) -> InitResult:
    """Load the shipped content into the store and build the index, unless nothing changed."""
    content_dir = Path(settings.content_dir)
    if not content_dir.is_dir():
        raise ConfigError(f"content folder not found: {content_dir}")
    fingerprint = content_fingerprint(content_dir)
    encoder = settings_encoder(settings)
    root = index_root(settings)
    store = open_settings_store(settings)
    try:
        up_to_date = store.get_meta(CONTENT_META) == fingerprint and _index_matches(
            root, encoder, settings.index_kind
        )
        if up_to_date and not force:
            return InitResult(skipped=True, version=current_version(root))
        content = load_content(content_dir)
        store.upsert_documents(content.documents, actor="kb init")
        for entry in content.faqs:
            store.upsert_faq(entry, actor="kb init")
        build_from_store(
            store, encoder, root, kind=settings.index_kind, meta={"content_fingerprint": fingerprint},
            progress=progress,
        )  # fmt: skip
        store.set_meta(CONTENT_META, fingerprint)
        return InitResult(
            False, len(content.documents), len(content.faqs), list(content.problems), current_version(root)
        )
    finally:
        store.close()


@dataclass
class IngestResult:
    report: LoadReport
    stored: int
    index_updated: bool
    changes_applied: int = 0


def ingest(
    settings: Settings, paths: list[Path], *, region: str | None = None, progress: Any = None
) -> IngestResult:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"no such file or folder: {', '.join(missing)}")
    report = load_paths(paths, region=region, progress=progress)
    store = open_settings_store(settings)
    try:
        stored = store.upsert_documents(report.documents, actor="kb ingest") if report.documents else 0
        updated, applied = update_index(settings, store)
        return IngestResult(report, stored, updated, applied)
    finally:
        store.close()


def update_index(settings: Settings, store: KnowledgeStore) -> tuple[bool, int]:
    """Apply the store's pending changes to the current index, if there is one. (updated?, changes)

    A damaged or mismatched index is recovered first, as the app would at start (``index.recovery``)."""
    root = index_root(settings)
    if not current_version(root):
        return False, 0
    retriever = open_index(root, settings_encoder(settings), store, kind=settings.index_kind)
    return True, apply_changes(retriever, store, root=root)


def rebuild(settings: Settings, *, progress: Progress | None = None) -> Path:
    store = open_settings_store(settings)
    try:
        _, directory = build_from_store(
            store,
            settings_encoder(settings),
            index_root(settings),
            kind=settings.index_kind,
            progress=progress,
        )
        return directory
    finally:
        store.close()


def run_eval(
    settings: Settings, corpus: Path, questions_file: Path, *, k: int = 5,
    build_progress: Progress | None = None, eval_progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Build a fresh temporary workspace from ``corpus`` and score BM25, dense and hybrid on the questions."""
    if not corpus.is_dir():
        raise ConfigError(f"corpus folder not found: {corpus}")
    questions = load_questions(questions_file)
    if not questions:
        raise ConfigError(f"no in_corpus questions in {questions_file}")
    report = load_paths([corpus])
    if not report.documents:
        raise ConfigError(f"no documents could be loaded from {corpus}")
    with tempfile.TemporaryDirectory(prefix="taxbot-eval-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'eval.sqlite3'}")
        try:
            store.upsert_documents(report.documents, actor="kb eval")
            retriever, _ = build_from_store(
                store, settings_encoder(settings), Path(tmp) / "index", kind=settings.index_kind,
                progress=build_progress,
            )  # fmt: skip
        finally:
            store.close()
        docs = {d.id: d for d in report.documents}
        scores = evaluate(retriever, questions, docs, k=k, progress=eval_progress)
    return {"n": len(questions), **scores}
