import pytest

from taxbot.conversations import HandoffNotFound, TurnSummary, summarise
from taxbot.conversations.recorder import payload_intent

ANSWER = [
    {"recipient_id": "c1", "text": "北京市契税税率为3%。\n依据：《北京市契税决定》第一条"},
    {"recipient_id": "c1", "custom": {"answer_kind": "faq", "intent": "ask_policy", "region": "北京市",
                                      "sources": ["faq:faq-local-bj-006"], "citations": []}},
]  # fmt: skip


def test_summarise_reads_what_the_actions_put_in_their_payload():
    summary = summarise("北京契税多少", ANSWER)
    assert summary.bot_text.startswith("北京市契税税率为3%")
    assert (summary.intent, summary.answer_kind, summary.region) == ("ask_policy", "faq", "北京市")
    assert summary.sources == ("faq:faq-local-bj-006",)
    assert summary.handoff_reason is None and summary.feedback is None and summary.rating is None


def test_summarise_handoff_rating_and_payload_intents():
    handoff = [{"custom": {"answer_kind": "handoff", "handoff_queued": True, "handoff_reason": "no_answer"}}]
    assert summarise("还是不对", handoff).handoff_reason == "no_answer"
    assert summarise('/rate{"rating":"4"}', [{"custom": {"rating": 4}}]).rating == 4
    assert summarise("/request_human", [{"text": "好的"}]).intent == "request_human"
    assert payload_intent('/inform_region{"region":"北京市"}') == "inform_region"
    assert payload_intent("转人工") == ""


def test_turns_are_stored_masked_in_order(store):
    store.record_exchange(
        "c1", "我的身份证110101199003071234，手机13800138000，北京契税多少", summarise("", ANSWER)
    )
    [asked, answered] = store.transcript("c1")
    assert (
        asked.role == "taxpayer"
        and "110101199003071234" not in asked.text
        and "13800138000" not in asked.text
    )
    assert "138****8000" in asked.text
    assert (
        answered.role == "bot"
        and answered.answer_kind == "faq"
        and answered.sources == ("faq:faq-local-bj-006",)
    )
    assert answered.region == "北京市" and store.transcript("someone-else") == []


def test_feedback_is_about_the_latest_answer(store):
    store.record_exchange("c1", "北京契税多少", summarise("北京契税多少", ANSWER))
    negative = [{"custom": {"answer_kind": "feedback", "feedback": {"kind": "negative", "region": "北京市"}}}]
    store.record_exchange("c1", "/feedback_negative", summarise("/feedback_negative", negative))
    [fb] = store.list_feedback(conversation_id="c1")
    assert (fb.kind, fb.question, fb.sources, fb.region) == (
        "negative",
        "北京契税多少",
        ("faq:faq-local-bj-006",),
        "北京市",
    )


def test_rating_is_stored_and_checked(store):
    store.record_exchange("c1", '/rate{"rating":"5"}', TurnSummary(bot_text="谢谢", rating=5))
    assert [(f.kind, f.rating) for f in store.list_feedback()] == [("rating", 5)]
    with pytest.raises(ValueError, match="1 to 5"):
        store.record_feedback("c1", "rating", rating=9)


def test_handoff_queue_enqueue_claim_release(store):
    handoff = store.record_exchange(
        "c1", "转人工", TurnSummary(bot_text="已为您转接", handoff_reason="request")
    )
    assert handoff is not None and handoff.status == "waiting"
    assert store.enqueue("c1", "no_answer").id == handoff.id  # already open: the same handoff
    assert store.handed_over("c1").id == handoff.id and store.handed_over("c2") is None
    assert [h.conversation_id for h in store.list_waiting()] == ["c1"]
    claimed = store.claim(handoff.id, "agent-7")
    assert claimed.status == "claimed" and claimed.claimed_by == "agent-7"
    assert store.list_waiting() == [] and len(store.list_waiting(include_claimed=True)) == 1
    with pytest.raises(HandoffNotFound):
        store.claim(handoff.id, "agent-8")
    assert store.release(handoff.id).status == "released"
    assert store.handed_over("c1") is None
    with pytest.raises(HandoffNotFound):
        store.release(handoff.id)
    assert store.enqueue("c1", "request").id != handoff.id  # a new handoff after release


def test_feedback_after_a_region_button_is_about_the_question_asked_before(store):
    clarify = [{"custom": {"answer_kind": "clarify", "intent": "ask_policy"}}]
    store.record_exchange("c1", "契税税率是多少", summarise("契税税率是多少", clarify))
    store.record_exchange("c1", '/inform_region{"region":"北京市"}', summarise("/inform_region", ANSWER))
    positive = [{"custom": {"feedback": {"kind": "positive"}}}]
    store.record_exchange("c1", "/feedback_positive", summarise("/feedback_positive", positive))
    [fb] = store.list_feedback()
    assert (fb.question, fb.region) == ("契税税率是多少", "北京市")
