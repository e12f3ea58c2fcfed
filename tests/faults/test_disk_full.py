"""Disk full while a new index version is written: the follower keeps serving, CURRENT is untouched.

The follower runs in a child process whose file-size limit (``RLIMIT_FSIZE``) is lowered, so the first
index file that grows past it fails with ``EFBIG`` exactly as a full disk fails a write (SIGXFSZ ignored).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index.builder import build_from_store, load_retriever
from index.encoder import HashingEncoder
from index.persistence import current_version
from knowledge_base.store import open_store
from tests.conftest import REPO_ROOT
from tests.faults.conftest import DOCS
from tests.index.conftest import make_doc

NEW = make_doc(
    "nat-stamp", "印花税若干问题的公告", ["电子合同印花税按合同所载金额计征。"], tax_types=("印花税",)
)
QUERY = "电子合同印花税怎么交"

# The follower's process: load CURRENT, sync under a file-size limit, then again with the limit lifted.
CHILD = """
import json, logging, resource, signal, sys
from pathlib import Path
from index.builder import load_retriever
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from index.persistence import current_version
from knowledge_base.store import open_store

logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
root, url, query = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
store = open_store(url)
retriever, _ = load_retriever(root, HashingEncoder(256))
following = FollowingRetriever(retriever, store, root=root, interval=0.0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
full = [h.doc_id for h in following.search(query)]
during = {"current": current_version(root), "partials": sorted(p.name for p in root.glob("*.partial"))}
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
after = [h.doc_id for h in following.search(query)]
print(json.dumps({"full": full, "during": during, "after": after, "current": current_version(root)}))
"""


@pytest.fixture
def encoder() -> HashingEncoder:
    return HashingEncoder(256)


@pytest.fixture
def live(encoder, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    store = open_store(url)
    store.upsert_documents(DOCS)
    root = tmp_path / "index"
    _, first = build_from_store(store, encoder, root)
    store.upsert_documents([NEW])  # the change the follower will apply (written before the disk fills)
    yield store, url, root, first.name
    store.close()


def run_follower(root: Path, url: str) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), url, QUERY],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_disk_full_keeps_previous_version_and_retry_persists(live, encoder):
    store, url, root, first = live
    result, stderr = run_follower(root, url)
    # while the disk is full: an error naming the cause, the old version CURRENT, no half-written one left
    assert "could not apply knowledge-store changes" in stderr
    assert "OSError" in stderr  # EFBIG, or numpy's "1024 requested and 992 written"
    assert result["during"] == {"current": first, "partials": []}
    assert result["full"][0] == "nat-stamp"  # the change is searchable in memory all the same
    # the disk has room again: the next search persists the change as a new version
    assert result["after"][0] == "nat-stamp"
    assert result["current"] != first
    reloaded, manifest = load_retriever(root, encoder)
    assert manifest["store_seq"] == store.last_change_seq()
    assert reloaded.search(QUERY)[0].doc_id == "nat-stamp"
    assert current_version(root) == result["current"]
