"""POST /webhook with slot and entity values of the wrong type, as a tracker from an older domain, a
custom slot mapping or a hand-made `/inform_region{"region": 123}` message can carry them.

Rasa shows the taxpayer nothing when the action server answers 5xx, so a weird value must still get a
sensible answer: a value that is not of the slot's type counts as unset (region: national rules only;
counters: zero), never as an error.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.api.test_webhook import action_call

ACTIONS = ["action_search_kb", "action_answer_pending", "action_calculate", "action_greet",
           "action_handoff", "action_feedback", "action_rate"]  # fmt: skip
HOSTILE = [123, True, [], ["北京市"], {}, {"name": "北京市"}, "", "abc", "\x00", -1e308]
SLOTS = ["region", "pending_question", "no_answer_count", "negative_feedback_count", "taxpayer_type"]
ENTITIES = ["region", "amount", "rating"]


def call(action: str, text: str = "北京市个人出租住房的房产税怎么交", **slots: Any) -> dict[str, Any]:
    body = action_call(text, action=action)
    body["domain"]["actions"] = ACTIONS
    body["tracker"]["slots"] |= slots
    return body


def with_entity(body: dict[str, Any], entity: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    item = {"entity": entity, "value": value, "start": 0, "end": 2, "extractor": "RegexEntityExtractor"}
    body["tracker"]["latest_message"]["entities"] = [item]
    body["tracker"]["events"][-1]["parse_data"]["entities"] = [item]
    return body


def answered(response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["events"], list) and isinstance(body["responses"], list)
    return body


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("slot", SLOTS)
def test_a_slot_of_the_wrong_type_is_answered_not_a_500(client, action, slot):
    for value in HOSTILE:
        answered(client.post("/webhook", json=call(action, **{slot: value})))


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("entity", ENTITIES)
def test_an_entity_value_of_the_wrong_type_is_answered_not_a_500(client, action, entity):
    for value in HOSTILE:
        answered(client.post("/webhook", json=with_entity(call(action), entity, value)))


@pytest.mark.parametrize("action", ACTIONS)
def test_entities_that_are_not_objects_are_answered_not_a_500(client, action):
    for entities in ([1, "x", None], [{"value": "北京"}], [{"entity": "region"}]):
        body = call(action)
        body["tracker"]["latest_message"]["entities"] = entities
        answered(client.post("/webhook", json=body))


def test_a_region_of_the_wrong_type_counts_as_none_given(client):
    """national rules only, and the question still answered (or the region asked for)"""
    body = answered(client.post("/webhook", json=call("action_search_kb", "小规模纳税人增值税征收率是多少",
                                                      region=["上海市"])))  # fmt: skip
    [message] = body["responses"]
    assert "第十一条" in message["text"] and message["custom"]["region"] == "全国"
    assert body["events"] == []  # the bad value is left alone: Rasa's slot, Rasa's type


def test_a_counter_of_the_wrong_type_counts_as_zero(client):
    body = answered(
        client.post("/webhook", json=call("action_feedback", "没用", negative_feedback_count="abc"))
    )
    assert {"event": "slot", "name": "negative_feedback_count", "value": 1.0} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in body["events"]
    ]


def test_a_pending_question_of_the_wrong_type_is_not_answered_as_text(client):
    body = call("action_answer_pending", "北京", pending_question={"q": "x"})
    body = with_entity(body, "region", "北京")
    [message] = answered(client.post("/webhook", json=body))["responses"]
    assert "北京市" in message["text"]  # the region confirmed; nothing was searched for "{'q': 'x'}"
