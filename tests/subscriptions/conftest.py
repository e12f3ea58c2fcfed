"""The product app on one database (SQLite and PostgreSQL) — knowledge store, conversations, channels and
subscriptions together as in production — with the fake WeChat API and Tencent Cloud SMS gateway speaking
their wire formats. The dispatcher's background loop is off: tests run its rounds themselves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from taxbot.staff.config import StaffSettings
from taxbot.subscriptions.config import SubscriptionSettings
from tests.channels.conftest import sms_settings, wechat_settings
from tests.channels.fakes import FakeDialogue
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, TinyRetriever

# the knowledge store (SQLite and PostgreSQL) with staff accounts, as the staff console tests have them
from tests.staff.conftest import PASSWORD, USERS, mount_staff, staff, store, token_for  # noqa: F401

DAILY_LIMIT = 2


@pytest.fixture
def make_app(store, staff, tmp_path, wechat_api, sms_gateway):  # noqa: F811
    """A new app instance on the same database each call (a restart, or a second replica)."""

    def factory() -> FastAPI:
        url = store.engine.url.render_as_string(hide_password=False)
        settings = Settings(
            data_dir=tmp_path, database_url=url, rasa_url="http://127.0.0.1:9", rasa_timeout=1
        )
        retriever = TinyRetriever(TEST_DOCUMENTS, TEST_FAQS)
        services = Services(settings=settings, retriever=retriever, store=store)
        app = create_app(settings, services)
        app.state.staff_settings = StaffSettings()
        app.state.channel_dialogue = FakeDialogue()
        app.state.wechat_settings = wechat_settings(wechat_api.url)
        app.state.sms_settings = sms_settings(sms_gateway.url)
        app.state.subscription_settings = SubscriptionSettings(enabled=False, daily_limit=DAILY_LIMIT)
        return mount_staff(app)

    return factory


@pytest.fixture
def client(make_app) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


@pytest.fixture
def agent(client: TestClient) -> dict[str, str]:
    return token_for(client, "agent1")


@pytest.fixture
def reviewer(client: TestClient) -> dict[str, str]:
    return token_for(client, "reviewer1")


def run_round(client: TestClient) -> int:
    """One dispatcher round on the app's event loop; how many pushes it delivered."""
    return client.portal.call(client.app.state.subscription_dispatcher.run_once)


def run_rounds_together(*clients: TestClient) -> list[int]:
    """One round of each app's dispatcher at the same time (replicas following the same change log)."""
    dispatchers = [c.app.state.subscription_dispatcher for c in clients]

    async def together() -> list[int]:
        return list(await asyncio.gather(*(d.run_once() for d in dispatchers)))

    return clients[0].portal.call(together)


def subscribe_web(client: TestClient, sender: str, **profile: object) -> dict:
    response = client.post("/api/subscriptions", json={"sender": sender, **profile})
    assert response.status_code == 200, response.text
    return response.json()


def pushed_to(client: TestClient, sender: str) -> list[str]:
    """What the widget of ``sender`` would show: the pushed messages of its conversation."""
    response = client.get(f"/api/chat/{sender}/messages")
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


def publish_faq(client: TestClient, agent: dict, reviewer: dict, **fields: object) -> str:
    """Draft (agent) and approve (reviewer) through the staff API: the real FAQ workflow."""
    body = {"answer": "详见相关公告，以主管税务机关解释为准。", **fields}
    draft = client.post("/api/staff/faqs", json=body, headers=agent)
    assert draft.status_code == 201, draft.text
    faq_id = draft.json()["id"]
    approved = client.post(f"/api/staff/faqs/{faq_id}/approve", json={}, headers=reviewer)
    assert approved.status_code == 200, approved.text
    return faq_id
