"""PostgreSQL restarted under the app: no 5xx to the taxpayer, and the first call after recovery works.

A private server (tests/faults/conftest.py) is stopped and started; Rasa is down throughout (a closed
port), so every chat message takes the queued path through the pending store on that server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from index.builder import build_from_store
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from knowledge_base.store import open_store
from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from tests.api.conftest import closed_port
from tests.index.conftest import make_doc

pytestmark = pytest.mark.postgres

SENDER = "web-fault-pg"


@pytest.fixture
def client(private_postgres, tmp_path: Path, tiny_retriever) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path, database_url=private_postgres.url,
        rasa_url=f"http://127.0.0.1:{closed_port()}", rasa_timeout=2.0,
    )  # fmt: skip
    app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def ask(client: TestClient, message: str) -> str:
    response = client.post("/api/chat", json={"sender": SENDER, "message": message})
    assert response.status_code == 200, response.text
    return response.json()[-1]["custom"]["answer_kind"]


def queued(client: TestClient) -> list[str]:
    return [m.text for m in client.app.state.pending.messages(SENDER)]


def test_first_calls_after_restart_succeed(client, private_postgres):
    assert ask(client, "个税起征点是多少") == "queued"
    assert client.get(f"/api/chat/{SENDER}/messages").status_code == 200
    private_postgres.restart()  # the pooled connections are now dead
    assert client.get(f"/api/chat/{SENDER}/messages").status_code == 200
    assert ask(client, "增值税征收率是多少") == "queued"
    assert queued(client) == ["个税起征点是多少", "增值税征收率是多少"]


def test_during_outage_taxpayer_gets_an_answer_not_an_error(client, private_postgres):
    assert ask(client, "个税起征点是多少") == "queued"
    private_postgres.stop()
    assert ask(client, "增值税征收率是多少") == "unavailable"  # cannot be queued: asked to retry, 200
    poll = client.get(f"/api/chat/{SENDER}/messages")
    assert poll.status_code == 503 and "12366" in poll.json()["detail"]
    private_postgres.start()
    assert ask(client, "增值税征收率是多少") == "queued"
    assert queued(client) == ["个税起征点是多少", "增值税征收率是多少"]


def test_knowledge_store_follower_survives_restart(private_postgres, tmp_path: Path):
    encoder = HashingEncoder(256)
    store = open_store(private_postgres.url)
    try:
        store.upsert_documents(
            [make_doc("nat-vat", "增值税若干问题的公告", ["小规模纳税人增值税征收率为百分之三。"])]
        )
        retriever, _ = build_from_store(store, encoder, tmp_path / "index")
        following = FollowingRetriever(retriever, store, root=tmp_path / "index", interval=0.0)
        private_postgres.stop()
        with pytest.raises(sa.exc.OperationalError):
            store.last_change_seq()
        assert following.search("小规模纳税人征收率")[0].doc_id == "nat-vat"  # the index we have
        private_postgres.start()
        store.upsert_documents(
            [make_doc("nat-stamp", "印花税若干问题的公告", ["电子合同印花税按合同金额计征。"])]
        )
        assert following.search("电子合同印花税")[0].doc_id == "nat-stamp"
    finally:
        store.close()
