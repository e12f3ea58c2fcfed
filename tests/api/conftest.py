"""The app with injected services (a tiny real retriever); Rasa is pointed at a closed port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # released on close: nothing listens there


@pytest.fixture
def settings(tmp_path) -> Settings:
    rasa_url = f"http://127.0.0.1:{closed_port()}"
    return Settings(data_dir=tmp_path, rasa_url=rasa_url, rasa_timeout=2.0, max_message_chars=50)


@pytest.fixture
def client(settings, tiny_retriever) -> Iterator[TestClient]:
    app = create_app(settings, Services(settings=settings, retriever=tiny_retriever))
    with TestClient(app) as test_client:
        yield test_client
