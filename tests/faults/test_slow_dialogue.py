"""Rasa slower than the app's ``rasa_timeout`` (an action webhook stuck behind it): the taxpayer is told the
question is queued, and gets exactly one answer once Rasa is quick again.

Rasa is stood in for by a small HTTP server speaking its REST channel and ``/status``; its answer to the
timed-out request arrives after the app gave up on it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from taxbot.app import create_app
from taxbot.conversations.pending import ANSWERED
from taxbot.services import Services
from taxbot.settings import Settings

SENDER = "web-fault-slow"
QUESTION = "个税起征点是多少"
DEADLINE = 30.0  # seconds: a bound for the replay, not a timing assertion


class SlowRasa(ThreadingHTTPServer):
    """Answers ``/webhooks/rest/webhook`` only once ``quick`` is set (or after ``DEADLINE``)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.quick = threading.Event()
        self.seen: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: SlowRasa

    def _reply(self, data: object) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # /status
        self._reply({"model_file": "models/taxbot.tar.gz"})

    def do_POST(self) -> None:  # /webhooks/rest/webhook
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append(request["message"])
        self.server.quick.wait(DEADLINE)
        with contextlib.suppress(OSError):  # the app may have given up on this request already
            self._reply([{"recipient_id": request["sender"], "text": f"答复：{request['message']}"}])

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def rasa() -> Iterator[SlowRasa]:
    server = SlowRasa()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.quick.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=DEADLINE)


def test_slow_rasa_queues_then_answers_once(rasa, tmp_path: Path, tiny_retriever):
    settings = Settings(data_dir=tmp_path, rasa_url=rasa.url, rasa_timeout=1.0)
    app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/chat", json={"sender": SENDER, "message": QUESTION})
        assert response.status_code == 200
        assert response.json()[-1]["custom"]["answer_kind"] == "queued"
        rasa.quick.set()  # Rasa is quick again (and its late answer to the first request is dropped)
        deadline = time.monotonic() + DEADLINE
        while not (bot := [m for m in poll(client) if m["role"] == "bot"]):
            assert time.monotonic() < deadline, "queued question not answered after Rasa became quick"
            time.sleep(0.2)
        [message] = app.state.pending.messages(SENDER)
        assert message.status == ANSWERED
        assert len(bot) == 1 and f"答复：{QUESTION}" in bot[0]["text"]
        assert rasa.seen[-1] == QUESTION  # answered by the replay (Rasa also got the timed-out request)


def poll(client: TestClient) -> list[dict]:
    response = client.get(f"/api/chat/{SENDER}/messages")
    assert response.status_code == 200, response.text
    return response.json()["messages"]
