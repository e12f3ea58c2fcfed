"""Queueing while the engine is down and replaying after, through the real GatedDialogue, pending store and
Delivery (web conversations: the pushed turns are what the widget polls). Rasa itself is stood in for here;
tests/e2e/test_rasa_outage.py does it with the real server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from taxbot.conversations import ConversationStore
from taxbot.conversations.gateway import GatedDialogue
from taxbot.conversations.pending import ANSWERED, FAILED, PENDING, PendingStore
from taxbot.conversations.replay import GAVE_UP, QUEUED, RETRY, QueueingEngine, ReplayWorker, quote
from taxbot.delivery import Delivery
from taxbot.errors import DialogueUnavailable

PHONE = "13800138000"
DEADLINE = 30.0  # seconds: a bound for asynchronous outcomes, not a timing assertion


class Engine:
    """Rasa's REST channel stand-in: down until ``up`` is set; records what it was asked, in order."""

    def __init__(self, up: bool = False) -> None:
        self.up = up
        self.seen: list[tuple[str, str]] = []
        self.hold: dict[str, asyncio.Event] = {}  # conversation → answered only once the event is set

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        if not self.up:
            raise DialogueUnavailable("Rasa at http://127.0.0.1:5005 is unreachable")
        self.seen.append((sender, message))
        if sender in self.hold:
            await asyncio.wait_for(self.hold[sender].wait(), DEADLINE)
        return [
            {"recipient_id": sender, "text": f"答复：{message}"},
            {"recipient_id": sender, "custom": {"answer_kind": "faq", "citations": [
                {"title": "中华人民共和国增值税法", "doc_number": "主席令第四十一号", "article": "第十一条"},
            ]}},
        ]  # fmt: skip

    async def status(self) -> dict[str, Any]:
        if not self.up:
            raise DialogueUnavailable("Rasa at http://127.0.0.1:5005 is unreachable")
        return {"model_file": "model.tar.gz"}


@pytest.fixture
def pending(store: ConversationStore) -> PendingStore:
    return PendingStore(store.engine)


def chat(store: ConversationStore, pending: PendingStore, engine: Engine) -> GatedDialogue:
    return GatedDialogue(QueueingEngine(engine, pending), store)


def worker(store: ConversationStore, pending: PendingStore, engine: Engine, **options: Any) -> ReplayWorker:
    delivery = Delivery(store)
    return ReplayWorker(pending, GatedDialogue(engine, store), engine.status, lambda: delivery, **options)


def pushed(store: ConversationStore, conversation_id: str) -> list[str]:
    return [t.text for t in store.pushed_after(conversation_id, 0) if t.role == "bot"]


def test_down_engine_queues_the_masked_message_and_says_so(store, pending) -> None:
    replies = asyncio.run(chat(store, pending, Engine()).send_message("w1", f"我的手机{PHONE}，个税怎么退"))
    assert replies[0]["text"] == QUEUED
    custom = replies[1]["custom"]
    assert custom["answer_kind"] == "queued" and custom["poll"] is True
    [message] = pending.messages("w1")
    assert message.id == custom["pending_id"] and message.status == PENDING and message.channel == "web"
    assert PHONE not in message.text and "个税怎么退" in message.text


def test_later_messages_queue_behind_even_when_the_engine_is_back(store, pending) -> None:
    engine = Engine()
    dialogue = chat(store, pending, engine)
    asyncio.run(dialogue.send_message("sms-abc", "第一问"))
    engine.up = True
    replies = asyncio.run(dialogue.send_message("sms-abc", "第二问"))
    assert replies[0]["text"] == QUEUED and engine.seen == []  # not answered before the first one
    queued = [(m.text, m.channel) for m in pending.messages("sms-abc")]
    assert queued == [("第一问", "sms"), ("第二问", "sms")]
    replies = asyncio.run(dialogue.send_message("other", "你好"))
    assert replies[0]["text"] == "答复：你好"  # other conversations are not held up


def test_a_button_payload_is_not_queued_but_asked_again(store, pending) -> None:
    payload = '/inform_region{"region":"北京市"}'
    replies = asyncio.run(chat(store, pending, Engine()).send_message("w1", payload))
    assert replies[0]["text"] == RETRY and replies[1]["custom"]["retry"] is True
    assert pending.messages("w1") == []


def test_replay_answers_each_conversation_in_order_with_the_citation(store, pending) -> None:
    engine = Engine()
    dialogue = chat(store, pending, engine)
    for i in range(3):
        for sender in ("w1", "wechat:o2"):
            asyncio.run(dialogue.send_message(sender, f"{sender}问题{i}"))
    engine.up = True
    replay = worker(store, pending, engine)
    assert asyncio.run(replay.replay(pending.ready())) is True
    for sender in ("w1", "wechat:o2"):
        assert [m for s, m in engine.seen if s == sender] == [f"{sender}问题{i}" for i in range(3)]
        if sender == "w1":  # WeChat is not configured here: the answer stays in the transcript, push_failed
            answers = pushed(store, sender)
            assert len(answers) == 3 and all(f"答复：w1问题{i}" in answers[i] for i in range(3))
            assert all("依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条" in a for a in answers)
            assert answers[0].startswith(f"关于您之前的问题“{quote('w1问题0')}”")
        assert all(m.status == ANSWERED for m in pending.messages(sender))


def test_conversations_are_replayed_side_by_side(store, pending) -> None:
    """The first conversation's answer is held until the second one has been asked: only possible when
    both are replayed at once (one blocked conversation does not hold up the others)."""
    engine = Engine()
    dialogue = chat(store, pending, engine)
    asyncio.run(dialogue.send_message("slow", "慢的问题"))
    asyncio.run(dialogue.send_message("fast", "快的问题"))
    engine.up = True

    async def run() -> bool:
        engine.hold["slow"] = asyncio.Event()
        replay = worker(store, pending, engine, concurrency=2)
        task = asyncio.create_task(replay.replay(pending.ready()))
        async with asyncio.timeout(DEADLINE):
            while ("fast", "快的问题") not in engine.seen:
                await asyncio.sleep(0.05)
        engine.hold["slow"].set()
        return await task

    assert asyncio.run(run()) is True
    assert all(m.status == ANSWERED for m in pending.messages())


def test_two_workers_answer_every_message_once_and_in_order(store, pending) -> None:
    engine = Engine()
    dialogue = chat(store, pending, engine)
    senders = [f"w{n}" for n in range(4)]
    for i in range(4):
        for sender in senders:
            asyncio.run(dialogue.send_message(sender, f"{sender}-{i}"))
    engine.up = True

    async def run() -> None:
        a, b = worker(store, pending, engine, owner="a"), worker(store, pending, engine, owner="b")
        await asyncio.gather(a.replay(pending.ready()), b.replay(pending.ready()))

    asyncio.run(run())
    assert sorted(engine.seen) == sorted((s, f"{s}-{i}") for s in senders for i in range(4))  # once each
    for sender in senders:
        assert [m for s, m in engine.seen if s == sender] == [f"{sender}-{i}" for i in range(4)]
        assert len(pushed(store, sender)) == 4


def test_after_max_attempts_the_message_fails_and_the_taxpayer_is_told(store, pending) -> None:
    engine = Engine()
    asyncio.run(chat(store, pending, engine).send_message("w1", "增值税怎么交"))
    replay = worker(store, pending, engine, max_attempts=2, give_up_after=timedelta(0))
    assert asyncio.run(replay.replay(["w1"])) is False  # first attempt: back in the queue
    [message] = pending.messages("w1")
    assert (message.status, message.attempts) == (PENDING, 1) and "unreachable" in message.last_error
    assert pushed(store, "w1") == []
    asyncio.run(replay.replay(["w1"]))
    [message] = pending.messages("w1")
    assert (message.status, message.attempts) == (FAILED, 2)
    assert pushed(store, "w1") == [GAVE_UP.format(question="增值税怎么交")]


def test_the_worker_waits_for_health_then_replays(store, pending) -> None:
    engine = Engine()
    asyncio.run(chat(store, pending, engine).send_message("w1", "个税起征点是多少"))

    async def run() -> None:
        replay = worker(store, pending, engine, poll_seconds=0.05, max_backoff=0.2)
        replay.start()
        try:
            await asyncio.sleep(0.5)  # a few health checks fail meanwhile: nothing is attempted
            assert pending.messages("w1")[0].attempts == 0
            engine.up = True
            async with asyncio.timeout(DEADLINE):
                while pending.messages("w1")[0].status != ANSWERED:
                    await asyncio.sleep(0.05)
        finally:
            await replay.stop()

    asyncio.run(run())
    assert len(pushed(store, "w1")) == 1 and "答复：个税起征点是多少" in pushed(store, "w1")[0]


def test_a_conversation_handed_over_meanwhile_goes_to_the_agent(store, pending) -> None:
    engine = Engine()
    asyncio.run(chat(store, pending, engine).send_message("w1", "我要找人工"))
    store.enqueue("w1", "request")
    engine.up = True
    asyncio.run(worker(store, pending, engine).replay(["w1"]))
    assert engine.seen == []  # the gate applies to replays too
    assert "人工坐席" in pushed(store, "w1")[0]
    assert pending.messages("w1")[0].status == ANSWERED


def test_worker_refuses_zero_attempts(store, pending) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        worker(store, pending, Engine(), max_attempts=0)


def test_a_crash_mid_replay_leaves_the_message_queued_for_the_next_lease(store, pending) -> None:
    engine = Engine()
    asyncio.run(chat(store, pending, engine).send_message("w1", "发票怎么开"))
    engine.up = True

    class Broken:
        async def deliver(self, conversation_id: str, text: str, *, role: str = "agent") -> None:
            raise RuntimeError("the channel client broke")

    broken = ReplayWorker(
        pending, GatedDialogue(engine, store), engine.status, lambda: Broken(), lease=timedelta(0)
    )
    assert asyncio.run(broken.replay(["w1"])) is False  # logged, not raised: the worker loop goes on
    [message] = pending.messages("w1")
    assert (message.status, message.attempts) == (PENDING, 1)
    asyncio.run(worker(store, pending, engine).replay(pending.ready()))  # the lease ran out: taken over
    assert pending.messages("w1")[0].status == ANSWERED and len(pushed(store, "w1")) == 1


def test_a_message_is_not_given_up_before_it_has_waited_long_enough(store, pending) -> None:
    """Rasa's /status stays healthy while its lock or tracker store is down: attempts alone would run out
    within seconds of a longer outage, so a message young enough is kept whatever its attempts."""
    engine = Engine()
    asyncio.run(chat(store, pending, engine).send_message("w1", "增值税怎么交"))
    replay = worker(store, pending, engine, max_attempts=1, give_up_after=timedelta(hours=1))
    for _ in range(3):
        assert asyncio.run(replay.replay(["w1"])) is False
    [message] = pending.messages("w1")
    assert (message.status, message.attempts) == (PENDING, 3) and pushed(store, "w1") == []
    engine.up = True
    assert asyncio.run(replay.replay(["w1"])) is True
    assert pending.messages("w1")[0].status == ANSWERED and len(pushed(store, "w1")) == 1
