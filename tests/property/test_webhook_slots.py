"""No slot or entity value makes `POST /webhook` fail: whatever JSON a tracker carries in its slots and
entities, every action answers 200 (Rasa would show the taxpayer nothing on a 5xx).

One app (a tiny real retriever, Rasa pointed at a closed port) serves every example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from taxbot.app import create_app
from taxbot.services import Services
from taxbot.settings import Settings
from tests.api.conftest import closed_port
from tests.api.test_webhook_slots import ACTIONS, ENTITIES, SLOTS, call
from tests.conftest import TEST_DOCUMENTS, TEST_FAQS, TinyRetriever

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
    | st.sampled_from(["北京", "上海市", "5000元", "3", "１", "  "]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
slot_values = st.dictionaries(st.sampled_from(SLOTS) | st.text(max_size=10), json_values, max_size=6)
entity_items = st.lists(
    st.fixed_dictionaries({"entity": st.sampled_from(ENTITIES), "value": json_values}) | json_values,
    max_size=3,
)
texts = st.sampled_from(["北京市个人出租住房的房产税怎么交", "月薪8000元交多少个税", "5", "没用", "", "北京"])


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("webhook"), rasa_url=f"http://127.0.0.1:{closed_port()}"
    )
    app = create_app(
        settings, Services(settings=settings, retriever=TinyRetriever(TEST_DOCUMENTS, TEST_FAQS))
    )
    with TestClient(app) as test_client:
        yield test_client


@given(action=st.sampled_from(ACTIONS), text=texts, slots=slot_values, entities=entity_items)
def test_no_slot_or_entity_value_makes_the_webhook_fail(client, action, text, slots, entities):
    body = call(action, text)
    body["tracker"]["slots"] = slots
    body["tracker"]["latest_message"]["entities"] = entities
    response = client.post("/webhook", json=body)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["responses"], list)
