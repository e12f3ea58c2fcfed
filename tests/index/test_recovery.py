"""Automatic recovery when the CURRENT index version is damaged or mismatched (index.recovery).

A real SQLite knowledge store and real index versions: v1 built from the store, v2 = v1 plus one ingested
document. Whatever serves after recovery must still find that document (nothing accepted is lost).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from index import persistence
from index.builder import apply_changes, build_from_store, build_table, load_retriever
from index.encoder import HashingEncoder
from index.persistence import current_version, save_version, version_names
from index.recovery import open_index
from knowledge_base.store import open_store
from taxbot.errors import IndexCorrupt, IndexMismatch, IndexNotBuilt
from tests.index.conftest import make_doc

NEW = make_doc(
    "nat-stamp", "印花税若干问题的公告", ["电子合同印花税按合同所载金额计征。"], tax_types=("印花税",)
)
NEW_QUERY = "电子合同印花税怎么交"


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    yield store
    store.close()


@pytest.fixture
def versions(store, small_docs, small_faqs, encoder, tmp_path: Path) -> tuple[Path, str, str]:
    """(root, v1, v2): v1 from the store, v2 = v1 + NEW applied incrementally (CURRENT)."""
    store.upsert_documents(small_docs)
    for entry in small_faqs:
        store.upsert_faq(entry)
    root = tmp_path / "index"
    retriever, first = build_from_store(store, encoder, root)
    store.upsert_documents([NEW])
    apply_changes(retriever, store, root=root)
    second = current_version(root)
    assert second != first.name and version_names(root) == [first.name, second]
    return root, first.name, second


def finds_new(retriever) -> bool:
    return any(h.doc_id == NEW.id for h in retriever.search(NEW_QUERY))


def assert_good_current(root: Path, encoder, store, *, not_one_of: set[str]) -> str:
    """CURRENT names a new version that loads with every checksum verified and is up to date."""
    name = current_version(root)
    assert name not in not_one_of
    reloaded, manifest = load_retriever(root, encoder)
    assert manifest["store_seq"] == store.last_change_seq()
    assert finds_new(reloaded)
    return name


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda d: truncate(d / "dense.faiss"), "dense.faiss is damaged"),
        (lambda d: truncate(d / "chunks.json"), "chunks.json is damaged"),
        (lambda d: (d / "vectors.npy").unlink(), "vectors.npy is missing"),
        (lambda d: truncate(d / "manifest.json"), "is not valid JSON"),
        (lambda d: (d / "manifest.json").unlink(), "has no manifest"),
        (lambda d: (d / "manifest.json").write_text("[]"), "is not a JSON object"),
    ],
    ids=[
        "truncated-faiss",
        "truncated-chunks",
        "missing-vectors",
        "truncated-manifest",
        "no-manifest",
        "bad-manifest",
    ],
)
def test_damaged_current_falls_back_to_previous_version_and_replays_the_store(
    versions, store, encoder, caplog, damage, cause
):
    root, first, second = versions
    damage(root / second)
    with caplog.at_level(logging.INFO, logger="index.recovery"):
        retriever = open_index(root, encoder, store)
    assert finds_new(retriever)  # v1 lacks it: replayed from the store's change log
    assert retriever.store_seq == store.last_change_seq()
    published = assert_good_current(root, encoder, store, not_one_of={first, second})
    # the damaged version is kept for an operator, out of the way of loading and pruning
    assert (root / f"{second}.damaged").is_dir() and not (root / second).exists()
    warnings = " | ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert f"index version {second} cannot be used" in warnings and cause in warnings
    assert (
        f"falling back to index version {first}" in warnings
        and "replaying 1 knowledge-store change" in warnings
    )
    assert f"kept the damaged index version as {root / second}.damaged" in warnings
    assert f"published as version {published}" in warnings


@pytest.mark.parametrize(
    "pointer",
    [None, b"\xff\xfe not a version", b"v20990101T000000000000-gone00"],
    ids=["pointer-deleted", "pointer-garbled", "pointer-to-nothing"],
)
def test_lost_current_pointer_falls_back_to_newest_good_version(versions, store, encoder, pointer):
    root, first, second = versions
    if pointer is None:
        (root / "CURRENT").unlink()
    else:
        (root / "CURRENT").write_bytes(pointer)
    retriever = open_index(root, encoder, store)
    assert finds_new(retriever)
    assert_good_current(root, encoder, store, not_one_of={first, second})
    assert (root / second).is_dir() and (root / first).is_dir()  # nothing renamed: neither was damaged


def test_edited_encoder_fingerprint_is_a_mismatch_not_damage(versions, store, encoder, caplog):
    root, first, second = versions
    manifest_file = root / second / "manifest.json"
    manifest = json.loads(manifest_file.read_text("utf-8"))
    manifest["encoder"]["fingerprint"] = "hashing-256-9.9"
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="index.recovery"):
        retriever = open_index(root, encoder, store)
    assert finds_new(retriever)
    assert_good_current(root, encoder, store, not_one_of={first, second})
    assert "fingerprint 'hashing-256-9.9' (index) != 'hashing-256-1.2.3' (configured)" in caplog.text
    assert f"falling back to index version {first}" in caplog.text
    assert (root / second).is_dir()  # a version for another setup is not damaged: left for prune


def test_current_built_with_another_encoder_falls_back(versions, store, small_docs, encoder):
    root, first, second = versions
    other = save_version(build_table(small_docs, [], HashingEncoder(64)), root, {"store_seq": 0})
    assert current_version(root) == other.name
    retriever = open_index(root, encoder, store)
    assert finds_new(retriever)
    assert_good_current(root, encoder, store, not_one_of={first, second, other.name})


def test_every_version_mismatched_rebuilds_from_the_store(versions, store, caplog):
    root, first, second = versions
    changed = HashingEncoder(64)  # the configured encoder changed: no version on disk matches it
    with caplog.at_level(logging.INFO, logger="index.recovery"):
        retriever = open_index(root, changed, store)
    assert finds_new(retriever)
    published = assert_good_current(root, changed, store, not_one_of={first, second})
    manifest = json.loads((root / published / "manifest.json").read_text("utf-8"))
    assert manifest["encoder"]["dim"] == 64 and manifest["rebuilt"] is True
    assert manifest["counts"] == {"documents": 6, "chunks": 7, "faqs": 2}
    assert "rebuilding it from the knowledge store (6 documents, 2 FAQ entries" in caplog.text
    assert "index rebuild: encoding 7/7" in caplog.text  # progress is logged


def test_other_index_kind_rebuilds_with_the_configured_kind(versions, store, encoder):
    root, _, _ = versions
    retriever = open_index(root, encoder, store, kind="hnsw")
    assert finds_new(retriever)
    assert (
        json.loads((root / current_version(root) / "manifest.json").read_text("utf-8"))["index_kind"]
        == "hnsw"
    )


def test_every_version_damaged_rebuilds_from_the_store_and_keeps_them(versions, store, encoder):
    root, first, second = versions
    truncate(root / first / "bm25" / next(p.name for p in (root / first / "bm25").iterdir()))
    truncate(root / second / "faqs.json")
    retriever = open_index(root, encoder, store)
    assert finds_new(retriever)
    assert_good_current(root, encoder, store, not_one_of={first, second})
    assert (root / f"{first}.damaged").is_dir() and (root / f"{second}.damaged").is_dir()


def test_nothing_usable_and_empty_store_is_a_clear_error(versions, encoder, tmp_path: Path):
    root, first, second = versions
    truncate(root / second / "dense.faiss")
    (root / first / "docs.json").unlink()
    empty = open_store(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # e.g. TAXBOT_DATABASE_URL set wrong
    try:
        with pytest.raises(IndexCorrupt, match=r"knowledge store is empty.*check TAXBOT_DATABASE_URL"):
            open_index(root, encoder, empty)
    finally:
        empty.close()
    assert version_names(root) == []  # nothing published: an empty index would answer nothing


def test_no_index_and_empty_store_says_run_kb_init(store, encoder, tmp_path: Path):
    with pytest.raises(IndexNotBuilt, match="run `taxbot kb init`"):
        open_index(tmp_path / "index", encoder, store)
    assert not (tmp_path / "index").exists()


def test_no_index_but_a_filled_store_builds_one(store, small_docs, encoder, tmp_path: Path):
    """A new replica with its own data dir and the shared PostgreSQL store, or a wiped index folder."""
    store.upsert_documents([*small_docs, NEW])
    root = tmp_path / "index"
    assert finds_new(open_index(root, encoder, store))
    assert_good_current(root, encoder, store, not_one_of=set())


def test_good_current_is_loaded_as_is(versions, store, encoder, caplog):
    root, _, second = versions
    with caplog.at_level(logging.INFO, logger="index.recovery"):
        open_index(root, encoder, store)
    assert current_version(root) == second and version_names(root)[-1] == second
    assert f"serving index version {second}" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_replicas_recovering_together_publish_one_version(versions, store, encoder):
    root, _, second = versions
    truncate(root / second / "dense.faiss")
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(open_index(root, encoder, store))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and all(finds_new(r) for r in results)
    assert len(version_names(root)) == 2  # v1 and the one recovered version (the second process loaded it)


def test_prune_keeps_damaged_versions_and_the_configured_number_of_good_ones(
    versions, store, encoder, small_docs
):
    root, _, second = versions
    truncate(root / second / "dense.faiss")
    open_index(root, encoder, store)
    stale = root / "v20000101T000000000000-stale0.partial"  # a build abandoned two hours ago
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    table = build_table(small_docs, [], encoder)
    for _ in range(persistence.KEEP_VERSIONS + 1):
        save_version(table, root)
    assert len(version_names(root)) == persistence.KEEP_VERSIONS
    assert (root / f"{second}.damaged" / "dense.faiss").is_file()  # still there for inspection
    assert not stale.exists()


def test_mismatch_is_still_reported_by_plain_load(versions):
    """load_retriever itself stays strict: only open_index recovers."""
    root, _, _ = versions
    with pytest.raises(IndexMismatch):
        load_retriever(root, HashingEncoder(64))
