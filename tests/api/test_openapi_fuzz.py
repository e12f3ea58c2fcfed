"""Schemathesis against the app's own OpenAPI document: no generated request gets a 5xx.

The app runs in-process with a real SQLite knowledge store, a small real index (hashing encoder) and
the channel settings of the channel tests; Rasa is pointed at a closed port, so ``POST /api/chat``
queues the message (200, never a 5xx for a taxpayer) and ``GET /readyz`` answers its documented 503.
Every other 5xx fails the test. Each operation gets schemathesis's coverage phase (boundary values,
wrong types, missing parameters, unexpected methods) plus a few generated examples, derandomised.

Checks: ``no_undocumented_server_error`` (schemathesis's ``not_a_server_error`` with that one 503
allowed), ``status_code_conformance``, ``content_type_conformance``, ``response_schema_conformance``
and, on the public API, ``negative_data_rejection``. Not run:

* ``negative_data_rejection`` on routes that read their body by hand (``/webhook``, ``/wechat``,
  ``/sms/...``: no request body is declared, so a "negative" body is one the route may accept or refuse
  with its own 4xx) and on the staff API (pydantic's lax mode reads ``"valid_from": 0`` as 1970-01-01;
  the console sends ISO dates, and a lax reading is not a failure to refuse hostile input);
* ``max_response_time`` (no timed assertions in this suite).

The staff API also runs with an admin's bearer token made through the real ``StaffStore``, and every
staff operation is called anonymously and with forged credentials (must be 401).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from index.builder import build_from_store
from index.encoder import HashingEncoder
from index.follow import FollowingRetriever
from knowledge_base.store import open_store
from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.accounts import Role, StaffStore
from taxbot.staff.config import StaffSettings
from tests.api.conftest import closed_port
from tests.channels.conftest import TWILIO_SID, TWILIO_TOKEN, sms_settings, wechat_settings
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS

PASSWORD = "correct horse battery"
DOCUMENTED_503 = {("GET", "/readyz")}  # Rasa is down: the documented answer
HAND_READ_BODIES = ("/webhook", "/wechat", "/sms/inbound", "/sms/inbound/twilio")
FUZZ = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def no_undocumented_server_error(ctx, response, case) -> bool | None:
    """``not_a_server_error``, except the 503 the schema documents for a dialogue engine that is down."""
    if response.status_code == 503 and (case.method.upper(), case.path) in DOCUMENTED_503:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_undocumented_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """(the app, an admin's bearer token)."""
    root: Path = tmp_path_factory.mktemp("fuzz")
    store = open_store(f"sqlite:///{root / 'kb.sqlite3'}")
    store.upsert_documents(TEST_DOCUMENTS)
    for faq in TEST_FAQS:
        store.upsert_faq(faq)
    retriever, _ = build_from_store(store, HashingEncoder(256), root / "index")
    following = FollowingRetriever(retriever, store, root=root / "index", interval=0.0)
    settings_ = Settings(
        data_dir=root, rasa_url=f"http://127.0.0.1:{closed_port()}", rasa_timeout=1.0,
        # hundreds of requests from one address: rate limits off, so every case reaches its route
        ip_rate_limit_per_minute=0, poll_rate_limit_per_minute=0, chat_rate_limit_per_minute=0,
    )  # fmt: skip
    app = create_app(settings_, Services(settings=settings_, retriever=following, store=store))
    app.state.staff_settings = StaffSettings(max_upload_bytes=200_000)
    closed = f"http://127.0.0.1:{closed_port()}"
    app.state.wechat_settings = wechat_settings(closed)
    app.state.sms_settings = sms_settings(
        closed, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN, twilio_from="+15005550006",
        twilio_api_base=closed,
    )  # fmt: skip
    accounts = StaffStore(store.engine)
    admin = accounts.add_user("fuzzadmin", PASSWORD, Role.ADMIN)
    token, _ = accounts.create_token(admin, timedelta(hours=1))
    try:
        yield app, token
    finally:
        asgi.shutdown_lifespans()  # schemathesis keeps an app's lifespan running until asked
        store.close()


@pytest.fixture(scope="module")
def admin_headers(fuzz_app) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzz_app[1]}"}


@pytest.fixture(scope="module")
def session(fuzz_app) -> Iterator[asgi.ASGIClient]:
    """Schemathesis's in-process ASGI client (it runs the app's lifespan) for the running app."""
    with asgi.get_client(fuzz_app[0]) as client:
        yield client


# The document only: create_app builds routes, not services; the lazy ``from_fixture`` loader of
# schemathesis 4 does not work with pytest 9 (it rewrites ``node._nodeid``), so the schema is eager.
OPENAPI = create_app(Settings(rasa_url="http://127.0.0.1:9")).openapi()
SCHEMA = schemathesis.openapi.from_dict(OPENAPI)
SCHEMA.config.update(base_url=f"http://{asgi.HOST}")
public = SCHEMA.exclude(path_regex=r"^/api/staff/")
staff = SCHEMA.include(path_regex=r"^/api/staff/")


def _checks(case) -> list:
    if case.path in HAND_READ_BODIES:
        return CHECKS
    return [*CHECKS, negative_data_rejection]


@public.parametrize()
@FUZZ
def test_public_api_never_answers_5xx(case, session):
    case.call_and_validate(session=session, checks=_checks(case))


@staff.parametrize()
@settings(FUZZ, max_examples=3)
def test_staff_api_with_an_admin_token_never_answers_5xx(case, session, admin_headers):
    case.call_and_validate(session=session, headers=admin_headers, checks=CHECKS)


def _staff_api_routes() -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in OPENAPI["paths"].items()
        if path.startswith("/api/staff/") and path != "/api/staff/tokens"
        for method in operations
    )


@pytest.mark.parametrize(("method", "path"), _staff_api_routes())
def test_staff_api_without_valid_credentials_is_401_everywhere(session, method: str, path: str):
    """Anonymous, forged (an SQL injection for a token) and malformed credentials; a well-formed body, so
    nothing but authentication can refuse it (a body that is not JSON at all is FastAPI's 422 first)."""
    url = re.sub(r"\{[^}]+\}", "1", path)
    for headers in ({}, {"Authorization": "Bearer stf_x' OR '1'='1"}, {"Authorization": "Basic YWRtaW46"}):
        response = session.request(method, url, json={}, headers=headers)
        assert response.status_code == 401, (method, url, headers, response.status_code, response.text)
        assert response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"next_action": "action_search_kb"}, "tracker must be an object"),
        ({"next_action": ["action_search_kb"]}, "next_action must be a string"),
        ({"next_action": "action_search_kb", "tracker": {"slots": []}}, "tracker.slots"),
        ({"next_action": "action_search_kb", "tracker": {"events": "x"}}, "tracker.events"),
        ({"next_action": "action_greet", "tracker": {"latest_message": {"intent": "x"}}}, "intent"),
        ({"next_action": "action_search_kb", "tracker": {"latest_message": {"text": 5}}}, "text"),
        ({"next_action": "action_search_kb", "tracker": {}, "domain": "x"}, "domain must be an object"),
    ],
)
def test_malformed_action_calls_are_400_not_500(session, body: dict, problem: str):
    """Regression: rasa-sdk's executor crashed on these (KeyError, AttributeError) and /webhook said 500."""
    response = session.post("/webhook", json=body)
    assert response.status_code == 400, response.text
    assert problem in response.json()["error"]
