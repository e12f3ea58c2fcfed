from actions.calculate import ActionCalculate
from actions.dialogue import ActionFeedback, ActionGreet, ActionHandoff, ActionRate
from actions.replies import HOT_QUESTIONS
from tests.actions.conftest import run, tracker


def test_greeting_offers_the_hot_questions_as_buttons():
    _, [message] = run(ActionGreet(), tracker("你好", intent="greet"))
    assert message["text"].startswith("您好！这里是12366智能咨询")
    assert [b["payload"] for b in message["buttons"]] == list(HOT_QUESTIONS)


def test_hot_questions_are_published_faq_questions(repo_root):
    from knowledge_base.content_loader import load_content

    questions = {faq.question for faq in load_content(repo_root / "knowledge_base" / "content").faqs}
    assert set(HOT_QUESTIONS) <= questions


def test_request_human_queues_the_conversation():
    events, [message] = run(ActionHandoff(), tracker("转人工", intent="request_human", no_answer_count=1.0))
    assert "转接人工坐席" in message["text"]
    assert message["custom"] == {
        "citations": [], "answer_kind": "handoff", "intent": "request_human",
        "handoff_queued": True, "handoff_reason": "request",
    }  # fmt: skip
    assert {"event": "slot", "timestamp": None, "name": "no_answer_count", "value": 0.0} in events


def test_positive_feedback_thanks_and_carries_the_region():
    events, [message] = run(
        ActionFeedback(), tracker("/feedback_positive", intent="feedback_positive", region="北京市")
    )
    assert message["custom"]["feedback"] == {"kind": "positive", "region": "北京市"}
    assert events == []


def test_the_second_negative_feedback_hands_over():
    events, [message] = run(ActionFeedback(), tracker("没用", intent="feedback_negative"))
    assert "换个说法" in message["text"] and message["custom"]["feedback"]["kind"] == "negative"
    assert events == [{"event": "slot", "timestamp": None, "name": "negative_feedback_count", "value": 1.0}]
    events, messages = run(
        ActionFeedback(), tracker("没用", intent="feedback_negative", negative_feedback_count=1.0)
    )
    assert messages[0]["custom"]["feedback"]["kind"] == "negative"
    assert messages[1]["custom"]["handoff_reason"] == "negative_feedback"
    assert {"event": "slot", "timestamp": None, "name": "negative_feedback_count", "value": 0.0} in events


def test_rating_from_the_button_payload_entity():
    rate = tracker('/rate{"rating":"4"}', intent="rate", entities=[{"entity": "rating", "value": "4"}])
    _, [message] = run(ActionRate(), rate)
    assert message["custom"]["rating"] == 4 and "4分" in message["text"]


def test_calculation_answers_with_formula_estimate_and_not_a_filing(retriever):
    _, [message] = run(ActionCalculate(retriever), tracker("年终奖3万要交多少税", intent="ask_calculation"))
    assert "应纳税额＝30,000.00元×3%－0元＝900.00元" in message["text"]
    assert "不作为申报依据" in message["text"]
    assert message["custom"]["calculation"] == {"kind": "bonus", "amount": 30000.0, "tax": 900.0}
    assert message["custom"]["answer_kind"] == "calculation"


def test_calculation_without_an_amount_answers_from_the_knowledge_base(retriever):
    from actions.search import KbAnswerer
    from actions.topics import FaqSuggester
    from tests.actions.conftest import FAQS

    action = ActionCalculate(retriever, KbAnswerer(retriever, FaqSuggester(FAQS)))
    _, [message] = run(action, tracker("工资多少开始交个税，个人所得税起征点", intent="ask_calculation"))
    assert message["custom"]["answer_kind"] == "faq"
    assert message["text"].startswith("居民个人综合所得每年减除费用六万元")
