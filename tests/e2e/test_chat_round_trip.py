"""A taxpayer chats with the real product: app -> Rasa -> /webhook -> action_search_kb -> knowledge base."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.e2e


def chat(stack, message: str, sender: str = "e2e-taxpayer") -> list[dict]:
    body = {"sender": sender, "message": message}
    response = httpx.post(f"{stack.base_url}/api/chat", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def texts(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages if "text" in m)


def test_ready_reports_every_part(stack):
    body = httpx.get(f"{stack.base_url}/readyz").json()
    assert body == {"status": "ready", "checks": {"rasa": "ok", "retriever": "ok"}}
    print(f"\nstartup (taxbot serve until /readyz): {stack.startup_seconds:.1f} s")


def test_greeting_is_answered_by_the_rule(stack):
    messages = chat(stack, "你好", sender="e2e-greet")
    assert "12366智能咨询" in texts(messages)


def test_policy_question_is_answered_from_the_knowledge_base_with_citations(stack):
    started = time.monotonic()
    messages = chat(stack, "小规模纳税人增值税征收率是多少", sender="e2e-policy")
    elapsed = time.monotonic() - started
    print(f"\npolicy question round trip: {elapsed * 1000:.0f} ms")
    text = texts(messages)
    assert "依据：《" in text, text
    assert "适用范围：" in text
    [custom] = [m["custom"] for m in messages if "custom" in m]
    assert custom["answer_kind"] in ("faq", "article")
    assert custom["citations"], custom
    first = custom["citations"][0]
    assert first["title"] and first["region"] and first["status"] != "已废止"
    assert f"《{first['title']}》" in text


def test_thanks_after_a_question(stack):
    chat(stack, "个税专项附加扣除有哪些", sender="e2e-thanks")
    assert "不客气" in texts(chat(stack, "谢谢", sender="e2e-thanks"))


def test_oversized_message_is_refused_before_rasa(stack):
    response = httpx.post(f"{stack.base_url}/api/chat", json={"sender": "x", "message": "税" * 5000})
    assert response.status_code == 422
