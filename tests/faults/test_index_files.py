"""Index files truncated or replaced with a mismatched version: the real app recovers on its own.

The real FastAPI app over a real SQLite knowledge store and a real index (hashing encoder). The store
holds what was accepted; the index follows it. (a) a file of CURRENT truncated and (b) CURRENT replaced by
a version built with another encoder or dictionary: a restarted app is ready and answers with the right
document, and CURRENT names a new good version. (c) files truncated under a running app: it keeps
answering from memory, and the next store change publishes a good version the next start loads. (d) the
disk is full while the recovered version is written: it serves from memory, the next change publishes it.

Rasa is stood in for by a tiny server answering ``GET /status`` (only /readyz asks it here).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index import persistence
from index.builder import apply_changes, build_from_store, build_table, load_retriever
from index.encoder import HashingEncoder
from index.persistence import current_version, save_version
from knowledge_base.store import open_store
from taxbot.app import create_app
from taxbot.settings import Settings
from tests.conftest import REPO_ROOT
from tests.faults.conftest import DOCS
from tests.index.conftest import make_doc

# accepted after the first version: in CURRENT only, so recovery must replay it from the store
STAMP = make_doc("nat-stamp", "印花税若干问题的公告", ["电子合同印花税按合同所载金额计征。"])
# a staff change while the app runs with damaged files
CAR = make_doc("nat-car", "车船税若干问题的公告", ["新能源汽车免征车船税。"])
QUESTIONS = {"小规模纳税人增值税征收率是多少": "nat-vat", "电子合同印花税怎么交": "nat-stamp"}
DEADLINE = 30.0  # seconds: a bound for the follower to pick up a change, not a timing assertion


class StatusRasa(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StatusHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _StatusHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # /status: a model is loaded
        body = json.dumps({"model_file": "models/taxbot.tar.gz"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def rasa() -> Iterator[StatusRasa]:
    server = StatusRasa()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def encoder() -> HashingEncoder:
    return HashingEncoder(256)


@pytest.fixture
def settings(rasa, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, embedding_model="hashing-256", models_dir=tmp_path / "models",
        rasa_url=rasa.url, rasa_timeout=2.0,
    )  # fmt: skip


@pytest.fixture
def workspace(settings, encoder) -> tuple[Path, str, str]:
    """(index root, first version, CURRENT): the first built from DOCS, CURRENT = first + STAMP."""
    store = open_store(settings.resolved_database_url)
    try:
        store.upsert_documents(DOCS)
        root = settings.data_dir / "index"
        retriever, first = build_from_store(store, encoder, root)
        store.upsert_documents([STAMP], actor="kb ingest")
        apply_changes(retriever, store, root=root)
    finally:
        store.close()
    return root, first.name, current_version(root)


def top_doc(client: TestClient, question: str) -> str | None:
    response = client.get("/api/kb/search", params={"q": question, "k": 3})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    return hits[0]["doc_id"] if hits else None


def assert_ready_and_answering(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"rasa": "ok", "retriever": "ok"}
    for question, doc_id in QUESTIONS.items():
        assert top_doc(client, question) == doc_id, question


def assert_good_current(root: Path, encoder, settings: Settings, *, not_one_of: set[str]) -> str:
    """CURRENT names a new version that loads with every checksum verified and holds all accepted."""
    name = current_version(root)
    assert name not in not_one_of
    reloaded, manifest = load_retriever(root, encoder)
    store = open_store(settings.resolved_database_url)
    try:
        assert manifest["store_seq"] == store.last_change_seq()
    finally:
        store.close()
    assert {d for d in reloaded.table.docs} >= {"nat-vat", "nat-env", "nat-stamp"}
    return name


def recovery_warnings(caplog) -> str:
    return " | ".join(
        r.getMessage() for r in caplog.records if r.name == "index.recovery" and r.levelno >= 30
    )


def test_truncated_file_of_current_is_recovered_at_restart(settings, workspace, encoder, caplog):
    root, first, broken = workspace
    faiss_file = root / broken / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        assert_ready_and_answering(client)
    published = assert_good_current(root, encoder, settings, not_one_of={first, broken})
    warnings = recovery_warnings(caplog)
    assert f"index version {broken} cannot be used" in warnings and "dense.faiss is damaged" in warnings
    assert (
        f"falling back to index version {first}" in warnings
        and f"published as version {published}" in warnings
    )
    assert (root / f"{broken}.damaged" / "dense.faiss").is_file()  # kept for an operator to look at


def _other_encoder(root: Path) -> str:
    return save_version(build_table(DOCS, [], HashingEncoder(64)), root, {"store_seq": 0}).name


def _other_dictionary(root: Path) -> str:
    real = persistence.dictionary_fingerprint
    persistence.dictionary_fingerprint = lambda: "an-older-dictionary"  # as if built before a dictionary edit
    try:
        return save_version(build_table(DOCS, [], HashingEncoder(256)), root, {"store_seq": 0}).name
    finally:
        persistence.dictionary_fingerprint = real


@pytest.mark.parametrize(
    ("replace", "cause"),
    [(_other_encoder, "dim 64 (index) != 256 (configured)"), (_other_dictionary, "dictionary_fingerprint")],
    ids=["other-encoder", "other-dictionary"],
)
def test_current_replaced_by_a_mismatched_version_is_recovered_at_restart(
    settings, workspace, encoder, caplog, replace, cause
):
    root, first, good = workspace
    mismatched = replace(root)
    assert current_version(root) == mismatched
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        assert_ready_and_answering(client)
    assert_good_current(root, encoder, settings, not_one_of={first, good, mismatched})
    warnings = recovery_warnings(caplog)
    assert f"index version {mismatched} cannot be used" in warnings and cause in warnings
    assert f"falling back to index version {good}" in warnings  # the newest matching one, nothing to replay


def test_files_truncated_under_a_running_app(settings, workspace, encoder, caplog):
    root, first, serving = workspace
    with TestClient(create_app(settings)) as client:
        assert_ready_and_answering(client)
        for path in (root / serving).rglob("*"):
            if path.is_file():
                path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        assert_ready_and_answering(client)  # the index it serves is in memory
        store = open_store(settings.resolved_database_url)  # a staff edit, from another connection
        try:
            store.upsert_documents([CAR], actor="staff:reviewer")
        finally:
            store.close()
        deadline = time.monotonic() + DEADLINE
        while top_doc(client, "新能源汽车车船税") != "nat-car":
            assert time.monotonic() < deadline, "the staff change never became searchable"
            time.sleep(0.2)
        assert_ready_and_answering(client)
    published = assert_good_current(root, encoder, settings, not_one_of={first, serving})
    assert "nat-car" in load_retriever(root, encoder)[0].table.docs
    # the next start loads that version as it is: nothing to recover
    caplog.clear()
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        assert_ready_and_answering(client)
        assert top_doc(client, "新能源汽车车船税") == "nat-car"
    assert current_version(root) == published and recovery_warnings(caplog) == ""


# Recovery in a process whose file-size limit (RLIMIT_FSIZE) makes the first big index file fail with EFBIG,
# as a full disk does (SIGXFSZ ignored); then the limit is lifted and a staff change arrives.
DISK_FULL_CHILD = """
import json, logging, resource, signal, sys
from pathlib import Path
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from index.persistence import current_version
from index.recovery import open_index
from knowledge_base.store import open_store
from tests.faults.test_index_files import CAR

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
root, url = Path(sys.argv[1]), sys.argv[2]
store = open_store(url)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
following = FollowingRetriever(open_index(root, HashingEncoder(256), store), store, root=root, interval=0.0)
full = [h.doc_id for h in following.search("电子合同印花税怎么交")]
during = {"current": current_version(root), "partials": sorted(p.name for p in root.glob("*.partial"))}
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
store.upsert_documents([CAR], actor="staff:reviewer")
after = [h.doc_id for h in following.search("新能源汽车车船税")]
print(json.dumps({"full": full, "during": during, "after": after}))
"""


def test_disk_full_while_the_recovered_version_is_written(settings, workspace, encoder):
    root, first, broken = workspace
    faiss_file = root / broken / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL_CHILD, str(root), settings.resolved_database_url],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "could not write the recovered index" in proc.stderr and "serving it from memory" in proc.stderr
    assert result["full"][0] == "nat-stamp"  # recovered and up to date, in memory
    assert result["during"] == {"current": broken, "partials": []}  # nothing half-written published
    assert result["after"][0] == "nat-car"
    assert_good_current(root, encoder, settings, not_one_of={first, broken})
    assert "nat-car" in load_retriever(root, encoder)[0].table.docs
