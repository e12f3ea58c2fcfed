"""Versioned index directories: manifest checks, crash safety, corruption detection."""

import json
from pathlib import Path

import pytest

from index import persistence
from index.builder import build_table, load_retriever
from index.encoder import HashingEncoder
from index.persistence import current_version, save_version
from taxbot.errors import IndexCorrupt, IndexMismatch, IndexNotBuilt


@pytest.fixture
def saved(small_docs, small_faqs, encoder, tmp_path: Path):
    table = build_table(small_docs, small_faqs, encoder)
    directory = save_version(table, tmp_path / "index", {"store_seq": 7})
    return tmp_path / "index", directory


def test_round_trip_gives_same_results(saved, small_retriever, encoder):
    root, directory = saved
    assert current_version(root) == directory.name
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    assert manifest["encoder"] == {"name": "hashing-256", "fingerprint": encoder.fingerprint, "dim": 256}
    assert manifest["counts"] == {"documents": 5, "chunks": 6, "faqs": 2}
    assert manifest["store_seq"] == 7 and "dictionary_fingerprint" in manifest
    assert all(len(digest) == 64 for digest in manifest["files"].values())
    loaded, _ = load_retriever(root, encoder)
    assert loaded.store_seq == 7
    for q in ("小规模纳税人征收率多少？", "大气污染物环境保护税适用税额"):
        want = [(h.chunk_id, round(h.score, 5)) for h in small_retriever.search(q, region="北京市")]
        got = [(h.chunk_id, round(h.score, 5)) for h in loaded.search(q, region="北京市")]
        assert got == want


def test_missing_index_says_what_to_run(tmp_path: Path, encoder):
    with pytest.raises(IndexNotBuilt, match="run `taxbot kb init`"):
        load_retriever(tmp_path / "nothing", encoder)


def test_other_encoder_is_refused(saved):
    root, _ = saved
    with pytest.raises(IndexMismatch, match=r"dim 256 \(index\) != 64.*run `taxbot kb build`"):
        load_retriever(root, HashingEncoder(64))


def test_other_dictionary_is_refused(saved, encoder, monkeypatch):
    root, _ = saved
    monkeypatch.setattr(persistence, "dictionary_fingerprint", lambda: "0000")
    with pytest.raises(IndexMismatch, match="dictionary_fingerprint"):
        load_retriever(root, encoder)


def test_truncated_file_is_corrupt(saved, encoder):
    root, directory = saved
    faiss_file = directory / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match=r"dense.faiss is damaged"):
        load_retriever(root, encoder)


def test_missing_file_is_corrupt(saved, encoder):
    root, directory = saved
    (directory / "vectors.npy").unlink()
    with pytest.raises(IndexCorrupt, match=r"vectors.npy is missing"):
        load_retriever(root, encoder)


def test_crash_mid_build_keeps_old_version(saved, small_docs, encoder, monkeypatch):
    root, old = saved
    table = build_table(small_docs[:1], [], encoder)
    real_write = persistence.write_files

    def crash(tbl, directory):
        real_write(tbl, directory)  # some files are written ...
        raise RuntimeError("power cut")  # ... then the process dies before the manifest

    monkeypatch.setattr(persistence, "write_files", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        save_version(table, root)
    assert current_version(root) == old.name
    assert not list(root.glob("*.partial"))
    _, manifest = load_retriever(root, encoder)
    assert manifest["counts"]["documents"] == 5


def test_old_versions_pruned(saved, small_docs, encoder):
    root, first = saved
    table = build_table(small_docs, [], encoder)
    for _ in range(4):
        save_version(table, root)
    versions = [p for p in root.iterdir() if p.is_dir()]
    assert len(versions) == persistence.KEEP_VERSIONS
    assert not first.exists()
