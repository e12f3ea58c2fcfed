import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import ActionSearchKb, build_actions
from actions.formatting import SEARCH_FAILED_TEXT
from actions.search import asked_region


def tracker(text: str, region: str | None = None) -> Tracker:
    return Tracker(
        sender_id="taxpayer-1", slots={"region": region},
        latest_message={"text": text, "intent": {"name": "ask_policy", "confidence": 0.9}, "entities": []},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )  # fmt: skip


def run(action: ActionSearchKb, tr: Tracker) -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, {}))
    return events, dispatcher.messages


def test_answers_with_article_citation_and_region(tiny_retriever):
    events, messages = run(ActionSearchKb(tiny_retriever), tracker("小规模纳税人增值税征收率是多少"))
    assert events == []
    [message] = messages
    assert "百分之三" in message["text"]
    assert "依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条" in message["text"]
    assert message["text"].endswith("适用范围：全国")
    assert message["custom"]["answer_kind"] == "article"
    assert message["custom"]["citations"][0]["doc_id"] == "test-vat-law"


def test_faq_answer_first(tiny_retriever):
    _, [message] = run(ActionSearchKb(tiny_retriever), tracker("个税起征点是多少"))
    assert message["text"].startswith("居民个人综合所得每年减除费用六万元")
    assert message["custom"]["answer_kind"] == "faq"
    assert message["custom"]["citations"][0]["article"] == "第六条"


def test_region_slot_is_passed_to_the_retriever(tiny_retriever):
    action = ActionSearchKb(tiny_retriever)
    events, [message] = run(action, tracker("个人出租住房房产税怎么交", region="北京市"))
    assert tiny_retriever.queries == [("个人出租住房房产税怎么交", "北京市")]
    assert "适用范围：地方规定（北京市）" in message["text"]
    assert "上海" not in message["text"]
    assert events == []


def test_region_named_in_the_message_wins_and_is_remembered(tiny_retriever):
    action = ActionSearchKb(tiny_retriever)
    events, [message] = run(action, tracker("上海个人出租住房房产税", region="北京市"))
    assert tiny_retriever.queries == [("上海个人出租住房房产税", "上海市")]
    assert "适用范围：地方规定（上海市）" in message["text"]
    assert events == [{"event": "slot", "timestamp": None, "name": "region", "value": "上海市"}]


@pytest.mark.parametrize(
    ("slot", "expected"), [("京", "北京市"), ("深圳", "深圳市"), ("火星", None), (None, None)]
)
def test_slot_values_are_normalised_and_unknown_ones_dropped(slot, expected):
    assert asked_region("个人出租住房交什么税", slot) == expected


def test_no_hit_apologises_and_offers_the_hotline(tiny_retriever):
    _, [message] = run(ActionSearchKb(tiny_retriever), tracker("今天天气怎么样"))
    assert "抱歉" in message["text"] and "12366" in message["text"]
    assert message["custom"] == {"citations": [], "answer_kind": "none", "handoff": "12366"}


class BrokenRetriever:
    def search(self, query, **kwargs):
        raise RuntimeError("index file vanished")


def test_search_failure_apologises_instead_of_crashing():
    _, [message] = run(ActionSearchKb(BrokenRetriever()), tracker("小规模纳税人征收率"))
    assert message["text"] == SEARCH_FAILED_TEXT


def test_registry_builds_the_search_action(tiny_retriever):
    assert [a.name() for a in build_actions(tiny_retriever)] == ["action_search_kb"]
