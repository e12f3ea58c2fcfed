"""The app's log output: JSON or text lines, masked whatever the logger, with request and conversation ids;
uvicorn's access log goes through the same formatter with secret query values blanked."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from uvicorn.logging import AccessFormatter

from taxbot.app import create_app
from taxbot.observability.logs import configure_logging, resolve_format, scrub
from taxbot.rasa_client import RasaClient
from taxbot.services import Services
from tests.api.conftest import closed_port

PHONE, ID_CARD = "13812345678", "110101199003071234"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root and uvicorn loggers back as they were (handlers, level, propagation, record factory)."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    factory = logging.getLogRecordFactory()
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}  # fmt: skip
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    logging.setLogRecordFactory(factory)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def json_client(settings, tiny_retriever, restore_logging) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"log_format": "json"})
    with TestClient(create_app(settings, Services(settings=settings, retriever=tiny_retriever))) as client:
        yield client


def test_json_lines_mask_identifiers_of_any_logger(restore_logging, capsys):
    configure_logging("INFO", "json")
    plain = logging.getLogger("tests.plain")  # no masking filter of its own
    plain.warning("电话 %s，身份证 %s", PHONE, ID_CARD)
    try:
        raise ValueError(f"bad id {ID_CARD}")
    except ValueError:
        plain.exception("lookup failed for %s", PHONE)
    err = capsys.readouterr().err
    [first, second] = json_lines(err)
    assert first["level"] == "WARNING" and first["logger"] == "tests.plain"
    assert "138****5678" in first["message"] and first["time"].endswith("+00:00")
    assert "ValueError" in second["exception"]
    assert PHONE not in err and ID_CARD not in err


def test_every_handler_gets_masked_records_once_configured(restore_logging):
    seen: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = seen.append  # type: ignore[method-assign]
    plain = logging.getLogger("tests.other_library")
    plain.addHandler(collector)
    try:
        configure_logging("INFO", "text")
        plain.warning("sms callback /sms/inbound?token=Sms-Secret-1 from %s", PHONE)
        try:
            raise ValueError(f"bad id {ID_CARD}")
        except ValueError:
            plain.exception("failed")
    finally:
        plain.removeHandler(collector)
    assert seen[0].getMessage() == "sms callback /sms/inbound?token=*** from 138****5678"
    assert "ValueError: bad id 11" in seen[1].exc_text and ID_CARD not in seen[1].exc_text


def test_formatters_that_read_the_arguments_still_work(restore_logging):
    configure_logging("INFO", "text")
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord(
        access.name, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/sms/inbound?token=Sms-Secret-1&from={PHONE}", "1.1", 403), None,
    )  # fmt: skip
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(record)
    assert line == "127.0.0.1:5000 POST /sms/inbound?token=***&from=138****5678 HTTP/1.1 403 Forbidden"


def test_text_lines_are_masked_too(restore_logging, capsys):
    configure_logging("INFO", "text")
    logging.getLogger("tests.plain").warning("回电 %s", PHONE)
    err = capsys.readouterr().err
    assert "WARNING tests.plain" in err and "138****5678" in err and PHONE not in err


def test_text_in_development_json_elsewhere_unless_configured():
    assert resolve_format("", "development") == "text"
    assert resolve_format("", "production") == "json"
    assert resolve_format("text", "production") == "text"
    with pytest.raises(ValueError, match="'xml'"):
        resolve_format("xml", "development")


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /sms/inbound?token=Sms-Callback-Secret&x=1", "Sms-Callback-Secret"),
        ("GET /wechat?signature=abcdef0123&msg_signature=fedcba&nonce=1", "abcdef0123"),
        ("GET /wechat?signature=abcdef0123&msg_signature=fedcba&nonce=1", "fedcba"),
        ("POST https://api.example/x?secret_key=K3y-Value", "K3y-Value"),
        ("login password=hunter2-correct", "hunter2-correct"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi.abc.def"),
    ],
)
def test_secret_values_are_blanked(line, secret):
    assert secret not in scrub(line)
    assert "***" in scrub(line)


def test_request_id_is_echoed_and_logged_with_the_conversation(json_client, capsys):
    # a Rasa that cannot be reached and no queue in between: the chat route logs a warning
    json_client.app.state.dialogue.engine = RasaClient(f"http://127.0.0.1:{closed_port()}", timeout=2.0)
    response = json_client.post(
        "/api/chat", json={"sender": "web-abc", "message": "你好"}, headers={"X-Request-ID": "req-42.a_b"}
    )
    assert response.headers["x-request-id"] == "req-42.a_b"
    lines = [e for e in json_lines(capsys.readouterr().err) if e.get("request_id") == "req-42.a_b"]
    assert lines and all(line["conversation_id"] == "web-abc" for line in lines)


@pytest.mark.parametrize("sent", [None, "has space", "x" * 65, "注入".encode(), 'a"}{'])
def test_a_missing_or_unsafe_request_id_is_replaced(json_client, sent):
    headers = {"X-Request-ID": sent} if sent else {}
    response = json_client.get("/healthz", headers=headers)
    request_id = response.headers["x-request-id"]
    assert request_id != sent and len(request_id) == 32 and request_id.isalnum()


def test_the_uvicorn_access_log_is_json_and_hides_the_sms_token(
    tmp_path, monkeypatch, restore_logging, capsys
):
    """The product's way: uvicorn configures its logging, then calls the app factory."""
    port, rasa_port = closed_port(), closed_port()
    while rasa_port == port:
        rasa_port = closed_port()
    # no index in the data dir (the app starts and apologises); the hashing encoder loads no model
    for name, value in {"TAXBOT_DATA_DIR": str(tmp_path), "TAXBOT_LOG_FORMAT": "json",
                        "TAXBOT_EMBEDDING_MODEL": "hashing",
                        "TAXBOT_RASA_URL": f"http://127.0.0.1:{rasa_port}"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    config = uvicorn.Config("taxbot.app:create_app", factory=True, host="127.0.0.1", port=port, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, capsys.readouterr().err[-2000:]
        response = httpx.get(
            f"http://127.0.0.1:{port}/sms/inbound?token=Sms-Callback-Secret-123&from={PHONE}"
        )
        assert response.status_code in (403, 405, 503)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    err = capsys.readouterr().err
    access = [e for e in json_lines(err) if e["logger"] == "uvicorn.access"]
    assert access, err[-2000:]
    assert "/sms/inbound?token=***" in access[0]["message"]
    assert access[0]["request_id"] == response.headers["x-request-id"]
    assert "Sms-Callback-Secret-123" not in err and PHONE not in err
