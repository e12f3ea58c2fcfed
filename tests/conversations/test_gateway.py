"""GatedDialogue: the one path of every channel to Rasa — masking, the handoff gate, the turn log."""

from __future__ import annotations

import asyncio
from typing import Any

from taxbot.conversations import ConversationStore
from taxbot.conversations.gateway import WITH_AGENT, GatedDialogue

ID_CARD = "110101199003074517"


class RecordingEngine:
    """Stands in for Rasa's REST channel (the engine is not what is tested here)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, Any] | None]] = []

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.seen.append((sender, message, metadata))
        return [{"recipient_id": sender, "text": "您好，请问有什么可以帮您？"}]


def ask(gateway: GatedDialogue, sender: str, text: str, **metadata: str) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        replies = await gateway.send_message(sender, text, metadata or None)
        await gateway.drain()
        return replies

    return asyncio.run(run())


def test_identifiers_are_masked_before_the_engine_and_the_log(store: ConversationStore) -> None:
    engine = RecordingEngine()
    ask(GatedDialogue(engine, store), "wechat:o1", f"我的身份证{ID_CARD}怎么查个税", channel="wechat")
    sender, sent, metadata = engine.seen[0]
    assert sender == "wechat:o1"
    assert ID_CARD not in sent and "怎么查个税" in sent
    assert metadata == {"channel": "wechat"}
    texts = [t.text for t in store.transcript("wechat:o1")]
    assert texts and all(ID_CARD not in t for t in texts)


def test_a_handed_over_conversation_reaches_the_agent_not_the_bot(store: ConversationStore) -> None:
    engine = RecordingEngine()
    gateway = GatedDialogue(engine, store)
    store.enqueue("sms-abc", "request_human")
    replies = ask(gateway, "sms-abc", "我还有个问题")
    assert engine.seen == []
    assert replies[0]["text"] == WITH_AGENT
    assert store.transcript("sms-abc")[-1].text == "我还有个问题"
    handoff = store.handed_over("sms-abc")
    assert handoff is not None
    store.release(handoff.id)
    ask(gateway, "sms-abc", "谢谢")
    assert [m for _, m, _ in engine.seen] == ["谢谢"]


def test_without_a_store_the_chat_goes_on(store: ConversationStore) -> None:
    engine = RecordingEngine()
    replies = ask(GatedDialogue(engine, None), "web-1", "你好")
    assert replies[0]["text"].startswith("您好") and len(engine.seen) == 1
