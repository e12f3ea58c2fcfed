"""Open the index for serving, recovering on its own when the CURRENT version cannot be used.

The knowledge store is the system of record and the index only follows its change log, so a damaged or
mismatched index never needs an operator: fall back to the newest older version that loads and matches,
replay the store's changes since it, and publish the result as a new CURRENT (so other replicas and the
next start load a good version); when no version is usable (the encoder, dictionary or index kind
changed, or every version is damaged), rebuild from the store. Damaged versions are renamed
``<name>.damaged`` and kept for inspection. Only a workspace with no index and an empty store is refused
(IndexNotBuilt: run `taxbot kb init`), as is a store that is empty while the index is not: rebuilding from
it would publish an empty knowledge base, most likely because the database URL points at the wrong place.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.builder import apply_changes, build_table, load_retriever
from index.encoder import Encoder, Progress
from index.hybrid import HybridRetriever
from index.persistence import current_version, save_version, set_aside, version_names
from taxbot.errors import IndexCorrupt, IndexError_, IndexMismatch, IndexNotBuilt

log = logging.getLogger(__name__)
LOCK_FILE = ".recovery.lock"  # a dot name: neither a version nor a partial build to prune()


def open_index(root: Path, encoder: Encoder, store, *, kind: str = "flat") -> HybridRetriever:
    """The retriever to serve from ``root``, recovered (and republished) if CURRENT is unusable.

    Raises IndexNotBuilt when there is neither an index nor anything in the store to build one from.
    """
    try:
        return _load(root, encoder, kind, None)
    except IndexNotBuilt as exc:
        if not version_names(root) and store.last_change_seq() == 0:
            raise  # a fresh workspace: `taxbot kb init` is the first step, say so
        problem: IndexError_ = exc
    except (IndexCorrupt, IndexMismatch) as exc:
        problem = exc
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _exclusive(root):
            return _recover(root, encoder, store, kind)
    except OSError as exc:  # e.g. a read-only index folder: an index error the app reports, not a crash
        raise type(problem)(
            f"{_why(problem)}; automatic recovery failed ({exc}); run `taxbot kb build`"
        ) from exc


def _load(root: Path, encoder: Encoder, kind: str, version: str | None) -> HybridRetriever:
    retriever, manifest = load_retriever(root, encoder, version=version)
    name = version or current_version(root)
    if manifest.get("index_kind") != kind:
        raise IndexMismatch(
            f"index {root / str(name)} is {manifest.get('index_kind')!r} but TAXBOT_INDEX_KIND is {kind!r}"
        )
    if version is None:
        log.info("serving index version %s (store seq %d)", name, retriever.store_seq)
    return retriever


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One recovery at a time per index folder: replicas starting together wait for the first one and
    then load what it published instead of each rebuilding."""
    with (root / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recover(root: Path, encoder: Encoder, store, kind: str) -> HybridRetriever:
    current = current_version(root)
    try:  # again, under the lock: another process may have recovered while we waited
        return _load(root, encoder, kind, None)
    except IndexNotBuilt:
        problem: IndexError_ = IndexNotBuilt(f"no CURRENT version in {root}")
    except (IndexCorrupt, IndexMismatch) as exc:
        problem = exc
    cause = f"index version {current} cannot be used: {_why(problem)}" if current else _why(problem)
    log.warning("%s; recovering automatically", cause)
    if isinstance(problem, IndexCorrupt):
        _set_aside(root, current)
    for name in reversed(version_names(root)):
        if name == current:
            continue
        try:
            retriever = _load(root, encoder, kind, name)
        except IndexCorrupt as exc:
            log.warning("older index version %s is damaged too: %s", name, _why(exc))
            _set_aside(root, name)
            continue
        except IndexMismatch as exc:
            log.info("older index version %s does not match the configuration: %s", name, _why(exc))
            continue
        base = retriever.store_seq
        applied = apply_changes(retriever, store)  # in memory; published below in one version
        log.warning(
            "falling back to index version %s (store seq %d) and replaying %d knowledge-store change(s)",
            name, base, applied,
        )  # fmt: skip
        _publish(retriever, root, {"recovered_from": name, "replaced": current})
        return retriever
    if store.last_change_seq() == 0:
        raise type(problem)(
            f"{_why(problem)}; no other index version is usable and the knowledge store is empty, so "
            "there is nothing to rebuild from: check TAXBOT_DATABASE_URL, or run `taxbot kb init`"
        )
    return _rebuild(root, encoder, store, kind, replaced=current)


def _why(exc: Exception) -> str:
    """The cause without the "run `taxbot kb build`" advice meant for a human: recovery does it."""
    return str(exc).split("; run `taxbot kb")[0]


def _set_aside(root: Path, name: str | None) -> None:
    if name is None or name not in version_names(root):  # only ever rename a real version folder
        return
    kept = set_aside(root, name)
    if kept is not None:
        log.warning("kept the damaged index version as %s for inspection; delete it when done", kept)


def _rebuild(root: Path, encoder: Encoder, store, kind: str, *, replaced: str | None) -> HybridRetriever:
    seq = store.last_change_seq()  # read first: a change made during the build is replayed by the follower
    docs, faqs = store.list_documents(), store.list_faqs()
    log.warning(
        "no usable index version in %s; rebuilding it from the knowledge store (%d documents, %d FAQ "
        "entries, store seq %d)", root, len(docs), len(faqs), seq,
    )  # fmt: skip
    retriever = HybridRetriever(build_table(docs, faqs, encoder, kind=kind, progress=_logged("encoding")))
    retriever.store_seq = seq
    _publish(retriever, root, {"rebuilt": True, "replaced": replaced})
    return retriever


def _logged(what: str) -> Progress:
    """Progress as log lines, one per quarter: a rebuild with a real model takes a while."""
    reported = -1

    def tick(done: int, total: int) -> None:
        nonlocal reported
        quarter = done * 4 // total if total else 4
        if quarter > reported:
            reported = quarter
            log.info("index rebuild: %s %d/%d", what, done, total)

    return tick


def _publish(retriever: HybridRetriever, root: Path, meta: dict[str, Any]) -> None:
    """Save the recovered index as the new CURRENT. If that fails (disk full), keep serving it from
    memory: the follower's next store change, or the next start, writes a version again."""
    try:
        directory = save_version(retriever.table, root, {"store_seq": retriever.store_seq, **meta})
    except OSError as exc:
        log.error("could not write the recovered index to %s (%s); serving it from memory", root, exc)
        return
    log.warning("recovered index published as version %s (store seq %d)", directory.name, retriever.store_seq)
