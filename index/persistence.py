"""Versioned index directories: ``<root>/v<timestamp>-<id>/`` + a ``CURRENT`` pointer switched atomically.

A version is written into ``<name>.partial`` and renamed when complete; ``CURRENT`` is replaced with
``os.replace``, so a crash mid-build leaves the previous version serving. Loading checks the manifest
against the configured encoder and dictionary (IndexMismatch) and every file's sha256 (IndexCorrupt).
A version found damaged is renamed ``<name>.damaged`` (kept for inspection, never pruned);
``index.recovery`` decides what serves instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.bm25 import BM25Index
from index.chunks import ChunkRecord
from index.dense import DenseIndex
from index.encoder import Encoder
from index.table import IndexTable
from index.tokenize import analyzer_fingerprint, dictionary_fingerprint
from knowledge_base.models import Citation, Document, FaqEntry
from taxbot.errors import IndexCorrupt, IndexMismatch, IndexNotBuilt

FORMAT = 1
KEEP_VERSIONS = 3
# written by write_files; a manifest must carry a checksum for each (bm25/ is checked file by file too)
DATA_FILES = ("docs.json", "chunks.json", "faqs.json", "vectors.npy", "faq_vectors.npy", "dense.faiss")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _doc_from(d: dict) -> Document:
    for f in ("published", "effective", "expires"):
        d[f] = date.fromisoformat(d[f]) if d.get(f) else None
    for f in ("doc_number_aliases", "supersedes", "tax_types"):
        d[f] = tuple(d.get(f) or ())
    d["articles"] = ()
    return Document(**d)


def _faq_from(d: dict) -> FaqEntry:
    for f in ("valid_from", "valid_to"):
        d[f] = date.fromisoformat(d[f]) if d.get(f) else None
    d["updated_at"] = datetime.fromisoformat(d["updated_at"]) if d.get("updated_at") else None
    d["similar_questions"] = tuple(d.get("similar_questions") or ())
    d["tax_types"] = tuple(d.get("tax_types") or ())
    d["citations"] = tuple(Citation(**c) for c in d.get("citations") or ())
    return FaqEntry(**d)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, default=_json_default), encoding="utf-8")


def expected_identity(encoder: Encoder) -> dict[str, Any]:
    return {
        "encoder": {"name": encoder.name, "fingerprint": encoder.fingerprint, "dim": encoder.dim},
        "dictionary_fingerprint": dictionary_fingerprint(),
        "analyzer_fingerprint": analyzer_fingerprint(),
    }


def write_files(table: IndexTable, directory: Path) -> None:
    """Every data file of a version (the manifest comes last, in ``save_version``)."""
    _write_json(directory / "docs.json", [dataclasses.asdict(d) for d in table.docs.values()])
    rows = [{**dataclasses.asdict(r), "tokens": tok} for r, tok in zip(table.rows, table.tokens, strict=True)]
    _write_json(directory / "chunks.json", rows)
    _write_json(directory / "faqs.json", [dataclasses.asdict(e) for e in table.faq.entries.values()])
    np.save(directory / "vectors.npy", table.vectors)
    np.save(directory / "faq_vectors.npy", table.faq_vectors)
    table.dense.save(directory / "dense.faiss")
    table.bm25.save(directory / "bm25")


def _manifest(table: IndexTable, directory: Path, meta: dict[str, Any]) -> dict[str, Any]:
    files = {str(p.relative_to(directory)): _sha256(p) for p in sorted(directory.rglob("*")) if p.is_file()}
    content = hashlib.sha256("".join(files[f] for f in ("docs.json", "chunks.json", "faqs.json")).encode())
    return {
        "format": FORMAT,
        **expected_identity(table.encoder),
        "content_hash": content.hexdigest()[:16],  # documents, chunk texts and FAQ entries indexed
        "index_kind": table.kind,
        "counts": {"documents": len(table.docs), "chunks": len(table.rows), "faqs": len(table.faq.entries)},
        "next_key": table.next_key,
        "removed_keys": sorted(table.dense._removed),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        **meta,
    }


def save_version(table: IndexTable, root: Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a complete new version and make it CURRENT; returns its directory."""
    root.mkdir(parents=True, exist_ok=True)
    # names sort by build time; the Z ends the digit run, so the logs' masking of identifiers (a 15-digit
    # 纳税人识别号 is digits with optional hyphens) never stars out the version a log line names
    name = f"v{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:6]}"
    partial = root / f"{name}.partial"
    partial.mkdir()
    try:
        write_files(table, partial)
        _write_json(partial / "manifest.json", _manifest(table, partial, dict(meta or {})))
        final = root / name
        partial.rename(final)
        pointer = root / f"CURRENT.{uuid.uuid4().hex[:6]}.tmp"
        pointer.write_text(name, encoding="utf-8")
        os.replace(pointer, root / "CURRENT")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    prune(root)
    return final


def version_names(root: Path) -> list[str]:
    """Complete versions, oldest first (names start with their UTC build time).

    A name with a dot is not a version: ``.partial`` is being written (or was abandoned), ``.damaged``
    was set aside by recovery.
    """
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.glob("v*") if "." not in p.name and p.is_dir())


def prune(root: Path, keep: int = KEEP_VERSIONS) -> None:
    """Delete old versions (never the current one) and partial builds abandoned over an hour ago.

    Damaged versions are left for an operator to inspect. Another replica may prune the same folder
    at the same time, so a version or partial build vanishing under us is not an error.
    """
    current = current_version(root)
    for old in version_names(root)[:-keep]:
        if old != current:
            shutil.rmtree(root / old, ignore_errors=True)
    for partial in root.glob("v*.partial"):
        try:
            abandoned = time.time() - partial.stat().st_mtime > 3600
        except FileNotFoundError:  # finished (renamed) or removed by another process meanwhile
            continue
        if abandoned:
            shutil.rmtree(partial, ignore_errors=True)


def set_aside(root: Path, name: str) -> Path | None:
    """Rename a damaged version to ``<name>.damaged`` so no load tries it again and prune keeps it.

    Returns the new path, or None when the version is already gone (pruned by another replica).
    """
    source, target = root / name, root / f"{name}.damaged"
    try:
        source.rename(target)
    except FileNotFoundError:
        return None
    return target


def current_version(root: Path) -> str | None:
    pointer = root / "CURRENT"
    if not pointer.is_file():
        return None
    # a garbled pointer names no version (read_manifest then says so) rather than crashing every caller
    return pointer.read_bytes().decode("utf-8", errors="replace").strip()


def published_seq(root: Path) -> int:
    """The knowledge-store change the CURRENT version includes (-1 when there is no readable one)."""
    try:
        _, manifest = read_manifest(root)
        return int(manifest.get("store_seq", -1))
    except (IndexNotBuilt, IndexCorrupt, ValueError, TypeError):
        return -1


def read_manifest(root: Path, version: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The directory and manifest of ``version`` (default: the one CURRENT names)."""
    name = version or current_version(root)
    if not name:
        raise IndexNotBuilt(f"no index in {root}; run `taxbot kb init` (or `taxbot kb build`)")
    directory = root / name
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorrupt(f"index version {directory} has no manifest; run `taxbot kb build`") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(
            f"manifest of {directory} is not valid JSON ({exc}); run `taxbot kb build`"
        ) from exc
    except OSError as exc:  # e.g. CURRENT names something that is not a version folder
        raise IndexCorrupt(f"cannot read the manifest of {directory}: {exc}; run `taxbot kb build`") from exc
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"manifest of {directory} is not a JSON object; run `taxbot kb build`")
    return directory, manifest


def check_identity(manifest: dict[str, Any], encoder: Encoder, directory: Path) -> None:
    want = expected_identity(encoder)
    have_enc, want_enc = manifest.get("encoder"), want["encoder"]
    have_enc = have_enc if isinstance(have_enc, dict) else {}
    problems = [
        f"{field} {have_enc.get(field)!r} (index) != {want_enc[field]!r} (configured)"
        for field in ("name", "fingerprint", "dim")
        if have_enc.get(field) != want_enc[field]
    ]
    for field in ("dictionary_fingerprint", "analyzer_fingerprint"):
        if manifest.get(field) != want[field]:
            problems.append(f"{field} {manifest.get(field)!r} (index) != {want[field]!r} (current files)")
    if manifest.get("format") != FORMAT:
        problems.append(f"format {manifest.get('format')!r} != {FORMAT}")
    if problems:
        raise IndexMismatch(
            f"index {directory} was built with a different setup: {'; '.join(problems)}; "
            "run `taxbot kb build` to rebuild it"
        )


def load_version(
    root: Path, encoder: Encoder, *, verify: bool = True, version: str | None = None
) -> tuple[IndexTable, dict[str, Any]]:
    """Load ``version`` (default: CURRENT); IndexMismatch / IndexCorrupt say why it cannot serve."""
    directory, manifest = read_manifest(root, version)
    check_identity(manifest, encoder, directory)
    if verify:
        listed = manifest.get("files")
        missing = [f for f in DATA_FILES if not isinstance(listed, dict) or f not in listed]
        if missing:  # without a checksum for every data file, a swapped file would load unnoticed
            raise IndexCorrupt(
                f"manifest of {directory} lacks the checksums of {', '.join(missing)}; run `taxbot kb build`"
            )
        for rel, digest in listed.items():
            path = directory / rel
            if not path.is_file():
                raise IndexCorrupt(f"index file {path} is missing; run `taxbot kb build`")
            try:
                same = _sha256(path) == digest
            except OSError as exc:  # unreadable (I/O error, permissions): as unusable as a damaged file
                raise IndexCorrupt(f"cannot read index file {path}: {exc}; run `taxbot kb build`") from exc
            if not same:
                raise IndexCorrupt(f"index file {path} is damaged (checksum differs); run `taxbot kb build`")
    try:
        table = IndexTable(encoder, kind=manifest["index_kind"])
        table.docs = {d["id"]: _doc_from(d) for d in json.loads((directory / "docs.json").read_text("utf-8"))}
        rows = json.loads((directory / "chunks.json").read_text("utf-8"))
        table.tokens = [r.pop("tokens") for r in rows]
        table.rows = [ChunkRecord(**r) for r in rows]
        table.vectors = np.load(directory / "vectors.npy")
        faqs = [_faq_from(e) for e in json.loads((directory / "faqs.json").read_text("utf-8"))]
        table.set_faqs(faqs, np.load(directory / "faq_vectors.npy"))
        table.dense = DenseIndex.load(
            directory / "dense.faiss", kind=table.kind, dim=encoder.dim, removed=set(manifest["removed_keys"])
        )
        table.bm25 = BM25Index.load(directory / "bm25")
        table.next_key = int(manifest["next_key"])
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorrupt(f"cannot read index {directory}: {exc}; run `taxbot kb build`") from exc
    table._reindex_rows()
    if len(table.rows) != len(table.vectors) or table.bm25.size != len(table.rows):
        raise IndexCorrupt(f"index {directory} is inconsistent (row counts differ); run `taxbot kb build`")
    return table, manifest
