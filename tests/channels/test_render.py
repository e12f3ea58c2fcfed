"""Rendering Rasa replies as text within a channel's limits."""

from __future__ import annotations

import pytest

from channels.base import OutboundMessage
from channels.render import citation_line, parse_choice, render_text, split_utf8

CITATION = {"doc_id": "vat-law", "title": "中华人民共和国增值税法", "doc_number": "主席令第四十一号",
            "article": "第十一条", "region": "全国", "status": "in_force", "effective": "2026-01-01",
            "applicability": "national"}  # fmt: skip


def test_rasa_replies_become_one_text_with_basis_and_options():
    replies = [
        {"recipient_id": "u", "text": "小规模纳税人增值税征收率为3%。"},
        {"recipient_id": "u", "custom": {"citations": [CITATION, {**CITATION, "article": "第十条"}]}},
        {
            "recipient_id": "u",
            "text": "还想了解什么？",
            "buttons": [{"title": "减免政策", "payload": "/ask_relief"}],
        },
        {"recipient_id": "u", "image": "https://example.com/chart.png"},
    ]
    text = render_text(OutboundMessage.from_rasa(replies))
    assert text == (
        "小规模纳税人增值税征收率为3%。\n还想了解什么？\n[链接] https://example.com/chart.png\n"
        "依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条；《中华人民共和国增值税法》（主席令第四十一号）第十条\n"
        "回复1：减免政策"
    )


def test_a_basis_already_in_the_answer_is_not_repeated():
    message = OutboundMessage.from_rasa([
        {"text": "征收率3%。\n依据：《中华人民共和国增值税法》（主席令第四十一号）第十一条"},
        {"custom": {"citations": [CITATION]}},
    ])  # fmt: skip
    assert render_text(message).count("依据") == 1
    assert citation_line(message.citations, already="").startswith("依据：《中华人民共和国增值税法》")


@pytest.mark.parametrize(("text", "choice"), [("1", 1), (" ２ ", 2), ("回复3", 3), ("第2个", 2), ("1。", 1),
                                              ("12366", None), ("一", None), ("1个税", None)])  # fmt: skip
def test_parse_choice(text: str, choice: int | None):
    assert parse_choice(text) == choice


def test_split_utf8_respects_bytes_and_lines():
    text = "\n".join(["税" * 300, "费" * 1000, "ok"])
    pieces = split_utf8(text, 2048)
    assert all(len(p.encode()) <= 2048 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert pieces[0] == "税" * 300
