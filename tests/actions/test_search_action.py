from datetime import date

import pytest

from actions import ActionAnswerPending, ActionSearchKb, KbAnswerer, build_actions
from actions.formatting import SEARCH_FAILED_TEXT
from actions.search import asked_region
from actions.topics import FaqSuggester, LocalVariants
from tests.actions.conftest import FAQS, run, tracker

TODAY = date(2026, 12, 3)


def search_action(retriever) -> ActionSearchKb:
    return ActionSearchKb(KbAnswerer(retriever, FaqSuggester(FAQS), today=lambda: TODAY), LocalVariants(FAQS))


def slot(name, value):
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def test_answers_with_article_citation_and_region(retriever):
    events, messages = run(search_action(retriever), tracker("小规模纳税人增值税征收率是多少"))
    assert events == []
    message = messages[0]
    assert "百分之三" in message["text"]
    assert "依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条" in message["text"]
    assert "适用范围：全国" in message["text"]
    assert message["custom"]["answer_kind"] == "article"
    assert message["custom"]["citations"][0]["doc_id"] == "test-vat-law"
    assert message["custom"]["intent"] == "ask_policy"


def test_faq_answer_first(retriever):
    _, [message] = run(search_action(retriever), tracker("个税起征点是多少"))
    assert message["text"].startswith("居民个人综合所得每年减除费用六万元")
    assert message["custom"]["answer_kind"] == "faq"
    assert message["custom"]["sources"][0] == "faq:faq-test-iit-threshold"
    assert not message["buttons"]


def test_region_slot_is_used_and_named_in_the_query(retriever):
    events, [message] = run(search_action(retriever), tracker("个人出租住房房产税怎么交", region="北京市"))
    assert retriever.queries == [("北京市 个人出租住房房产税怎么交", "北京市")]
    assert "4%" in message["text"] and "适用范围：地方规定（北京市）" in message["text"]
    assert events == []


def test_region_named_in_the_message_wins_and_is_remembered(retriever):
    events, [message] = run(search_action(retriever), tracker("上海个人出租住房房产税", region="北京市"))
    assert retriever.queries == [("上海个人出租住房房产税", "上海市")]
    assert "适用范围：地方规定（上海市）" in message["text"]
    assert events == [slot("region", "上海市")]


@pytest.mark.parametrize(
    ("slot_value", "expected"), [("京", "北京市"), ("深圳", "深圳市"), ("火星", None), (None, None)]
)
def test_slot_values_are_normalised_and_unknown_ones_dropped(slot_value, expected):
    assert asked_region("个人出租住房交什么税", slot_value) == expected


def test_a_question_with_local_variants_asks_for_the_region_and_waits(retriever):
    events, messages = run(search_action(retriever), tracker("个人出租住房房产税税率"))
    assert retriever.queries == []  # nothing answered yet
    [question] = messages
    assert question["text"].startswith("您在哪个省市办税？")
    titles = [b["title"] for b in question["buttons"]]
    assert titles[0] == "北京市" and titles[-1] == "其他地区/只看全国规定"
    assert question["buttons"][0]["payload"] == '/inform_region{"region":"北京市"}'
    assert question["custom"]["answer_kind"] == "clarify"
    assert events == [slot("pending_question", "个人出租住房房产税税率")]


def test_the_pending_question_is_answered_once_the_region_is_given(retriever):
    answerer = KbAnswerer(retriever, FaqSuggester(FAQS), today=lambda: TODAY)
    given = tracker('/inform_region{"region":"北京市"}', intent="inform_region",
                    entities=[{"entity": "region", "value": "北京市"}],
                    region="北京市", pending_question="个人出租住房房产税税率")  # fmt: skip
    events, [message] = run(ActionAnswerPending(answerer), given)
    assert retriever.queries == [("北京市 个人出租住房房产税税率", "北京市")]
    assert "4%" in message["text"] and message["custom"]["region"] == "北京市"
    assert events == [slot("pending_question", None)]


def test_national_only_is_a_region_choice_too(retriever):
    answerer = KbAnswerer(retriever, FaqSuggester(FAQS), today=lambda: TODAY)
    given = tracker(
        "/inform_region", intent="inform_region", region="全国", pending_question="个税起征点是多少"
    )
    _, [message] = run(ActionAnswerPending(answerer), given)
    assert retriever.queries == [("个税起征点是多少", None)]
    assert message["custom"]["answer_kind"] == "faq"
    # and a later question with local variants is not asked about the region again
    _, [again] = run(search_action(retriever), tracker("个人出租住房房产税税率", region="全国"))
    assert again["custom"]["answer_kind"] != "clarify"


def test_a_region_without_a_pending_question_is_confirmed(retriever):
    answerer = KbAnswerer(retriever, FaqSuggester(FAQS), today=lambda: TODAY)
    events, [message] = run(
        ActionAnswerPending(answerer), tracker("我在沪", intent="inform_region", region="沪")
    )
    assert message["text"] == "好的，已记下您的办税地区：上海市。请问有什么涉税问题？"
    assert events == [slot("region", "上海市")]


def test_an_article_answer_offers_did_you_mean_buttons(retriever):
    answerer = KbAnswerer(retriever, FaqSuggester(FAQS, min_shared=1), today=lambda: TODAY)
    action = ActionSearchKb(answerer, LocalVariants(FAQS))
    _, [message] = run(action, tracker("综合所得减除费用六万元算不算起征点"))
    assert message["custom"]["answer_kind"] == "article"
    assert message["text"].endswith("您是不是想问：")
    assert [b["title"] for b in message["buttons"]] == ["个税起征点是多少？"]


class RecordingRetriever:
    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def search(self, query, **kwargs):
        self.calls.append(kwargs)
        return self.inner.search(query, **kwargs)


def test_a_year_in_the_question_searches_the_rules_of_that_time(retriever):
    recording = RecordingRetriever(retriever)
    run(search_action(recording), tracker("2025年小规模纳税人征收率"))
    assert recording.calls[0]["as_of"] == date(2025, 12, 31)
    run(search_action(recording), tracker("小规模纳税人征收率"))
    assert recording.calls[1]["as_of"] is None


def test_no_hit_apologises_counts_and_the_second_hands_over(retriever):
    events, [message] = run(search_action(retriever), tracker("今天天气怎么样"))
    assert "抱歉" in message["text"] and "12366" in message["text"]
    assert message["custom"]["answer_kind"] == "none" and message["custom"]["handoff"] == "12366"
    assert events == [slot("no_answer_count", 1.0)]
    events, [message] = run(search_action(retriever), tracker("明天会下雨吗", no_answer_count=1.0))
    assert "转接人工坐席" in message["text"]
    assert message["custom"]["handoff_queued"] is True and message["custom"]["handoff_reason"] == "no_answer"
    assert slot("no_answer_count", 0.0) in events


def test_an_answer_resets_the_no_answer_count(retriever):
    events, _ = run(search_action(retriever), tracker("个税起征点是多少", no_answer_count=1.0))
    assert events == [slot("no_answer_count", 0.0)]


class BrokenRetriever:
    def search(self, query, **kwargs):
        raise RuntimeError("index file vanished")


def test_search_failure_apologises_instead_of_crashing():
    _, [message] = run(search_action(BrokenRetriever()), tracker("个税起征点是多少"))
    assert message["text"] == SEARCH_FAILED_TEXT


def test_registry_builds_every_action(retriever):
    names = {a.name() for a in build_actions(retriever, FAQS)}
    assert names == {
        "action_search_kb", "action_answer_pending", "action_calculate", "action_greet",
        "action_handoff", "action_feedback", "action_rate",
    }  # fmt: skip
