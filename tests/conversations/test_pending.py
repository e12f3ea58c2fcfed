"""The pending queue on SQLite and PostgreSQL: masking, order per conversation, leases, exclusive claims."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from taxbot.conversations import ConversationStore, open_conversation_store
from taxbot.conversations.pending import ANSWERED, FAILED, PENDING, PendingStore

LEASE = timedelta(minutes=2)
ID_CARD = "110101199003074517"


@pytest.fixture
def pending(store: ConversationStore) -> PendingStore:
    return PendingStore(store.engine)


def test_a_queued_message_is_masked_and_keeps_its_metadata(pending: PendingStore) -> None:
    pending.add("wechat:o1", "wechat", f"身份证{ID_CARD}怎么查个税", {"channel": "wechat"})
    [message] = pending.messages("wechat:o1")
    assert ID_CARD not in message.text and "怎么查个税" in message.text
    assert (message.channel, message.status, message.attempts) == ("wechat", PENDING, 0)
    assert message.metadata == {"channel": "wechat"}
    assert pending.has_pending("wechat:o1") and not pending.has_pending("wechat:o2")


def test_only_the_head_of_a_conversation_can_be_claimed(pending: PendingStore) -> None:
    first = pending.add("c1", "web", "第一问")
    second = pending.add("c1", "web", "第二问")
    claimed = pending.claim_head("c1", "worker-a", LEASE)
    assert claimed is not None and claimed.id == first and claimed.attempts == 1
    # while the head is being replayed nobody may take the next message: order is kept
    assert pending.claim_head("c1", "worker-b", LEASE) is None
    assert pending.ready() == []
    assert pending.has_pending("c1")  # a new message still has to queue behind
    pending.finish(first, ANSWERED)
    assert pending.ready() == ["c1"]
    claimed = pending.claim_head("c1", "worker-b", LEASE)
    assert claimed is not None and claimed.id == second
    pending.finish(second, FAILED, "Rasa answered HTTP 500")
    assert not pending.has_pending("c1") and pending.claim_head("c1", "worker-a", LEASE) is None
    assert [(m.status, m.last_error) for m in pending.messages("c1")] == [
        (ANSWERED, ""), (FAILED, "Rasa answered HTTP 500"),
    ]  # fmt: skip


def test_ready_lists_free_conversations_oldest_first(pending: PendingStore) -> None:
    pending.add("late", "web", "a")
    pending.add("early", "web", "b")
    pending.add("late", "web", "c")
    assert pending.ready() == ["late", "early"]
    pending.claim_head("late", "worker-a", LEASE)
    assert pending.ready() == ["early"]
    assert pending.ready(limit=1) == ["early"]


def test_a_released_message_is_claimed_again_as_a_new_attempt(pending: PendingStore) -> None:
    message_id = pending.add("c1", "sms", "问题")
    pending.claim_head("c1", "worker-a", LEASE)
    pending.release(message_id, "Rasa timed out")
    again = pending.claim_head("c1", "worker-b", LEASE)
    assert again is not None and again.id == message_id
    assert again.attempts == 2 and again.last_error == "Rasa timed out"


def test_an_expired_lease_lets_another_replica_take_over(pending: PendingStore) -> None:
    message_id = pending.add("c1", "web", "问题")
    assert pending.claim_head("c1", "died", timedelta(seconds=-1)) is not None  # already expired
    taken = pending.claim_head("c1", "alive", LEASE)
    assert taken is not None and taken.id == message_id and taken.attempts == 2


def test_finishing_needs_a_final_status(pending: PendingStore) -> None:
    message_id = pending.add("c1", "web", "问题")
    with pytest.raises(ValueError, match="'pending'"):
        pending.finish(message_id, PENDING)


def test_two_replicas_never_claim_the_same_message(store_url: str) -> None:
    """Two engines (as two app processes) race for the same heads: each message goes to exactly one."""
    stores = [open_conversation_store(store_url) for _ in range(2)]
    try:
        queues = [PendingStore(s.engine) for s in stores]
        ids = [queues[0].add("race", "web", f"问题{i}") for i in range(8)]
        barrier = threading.Barrier(2)

        def claim(queue: PendingStore, owner: str) -> list[int]:
            won = []
            for _ in ids:
                barrier.wait(timeout=30)
                message = queue.claim_head("race", owner, LEASE)
                barrier.wait(timeout=30)  # both have tried before the winner finishes
                if message is not None:
                    won.append(message.id)
                    queue.finish(message.id, ANSWERED)
            return won

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(claim, queues, ["replica-a", "replica-b"]))
        assert sorted(results[0] + results[1]) == ids  # every message once, none twice
        assert all(m.status == ANSWERED and m.attempts == 1 for m in queues[0].messages("race"))
    finally:
        for s in stores:
            s.close()
