"""Pure formatting of search hits into what the taxpayer reads and the channels render.

No I/O and no Rasa objects: hits in, strings and JSON-ready dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from knowledge_base.models import NATIONAL, Applicability, DocStatus, SearchHit

HOTLINE = "12366"
EXCERPT_CHARS = 300
MAX_CITATIONS = 3

NO_ANSWER_TEXT = (
    "抱歉，暂时没有在知识库中找到能准确回答这个问题的政策规定。"
    f"您可以换个说法再问一次，或回复“转人工”由人工坐席为您解答，也可拨打{HOTLINE}纳税缴费服务热线。"
)
SEARCH_FAILED_TEXT = (
    f"抱歉，政策检索服务暂时出现问题，请稍后再试，或回复“转人工”、拨打{HOTLINE}纳税缴费服务热线咨询。"
)


def no_answer_payload() -> dict[str, Any]:
    """The json_message sent with an apology: no citations; channels offer the human agent."""
    return {"citations": [], "answer_kind": "none", "handoff": HOTLINE}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` with whitespace collapsed, cut at ``limit`` characters (preferring a sentence end)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    end = max(cut.rfind(mark) for mark in "。；;！？")
    if end >= limit // 2:
        return cut[: end + 1] + "……"
    return cut + "……"


def is_usable(hit: SearchHit) -> bool:
    """A hit the bot may answer from: never a repealed, replaced or historical rule."""
    if hit.applicability == Applicability.HISTORICAL:
        return False
    return hit.status not in (DocStatus.REPEALED, DocStatus.AMENDED)


def basis_line(hit: SearchHit) -> str:
    """The line "依据：《title》（文号）第X条"; empty when the hit cites no document."""
    if not hit.title or (hit.kind == "faq" and not hit.doc_id):
        return ""
    number = f"（{hit.doc_number}）" if hit.doc_number else ""
    return f"依据：《{hit.title}》{number}{hit.article}"


def applicability_line(hit: SearchHit) -> str:
    """Which region the answer applies to."""
    region = hit.region or NATIONAL
    if region == NATIONAL:
        return f"适用范围：{NATIONAL}"
    return f"适用范围：地方规定（{region}）"


def answer_body(hit: SearchHit) -> str:
    """The answer itself: the FAQ answer, or the article text excerpted with where it comes from."""
    if hit.kind == "faq" and hit.faq is not None:
        return hit.faq.answer.strip()
    if hit.kind == "faq":
        return hit.text.strip()
    source = f"《{hit.title}》{hit.article}" if hit.title else hit.article
    return f"{source}规定：{excerpt(hit.text)}" if source else excerpt(hit.text)


def citation(hit: SearchHit) -> dict[str, Any]:
    return {
        "doc_id": hit.doc_id,
        "title": hit.title,
        "doc_number": hit.doc_number,
        "article": hit.article,
        "region": hit.region or NATIONAL,
        "status": str(hit.status),
        "effective": hit.effective.isoformat() if hit.effective else None,
        "applicability": str(hit.applicability),
    }


def citations(hits: Sequence[SearchHit], limit: int = MAX_CITATIONS) -> list[dict[str, Any]]:
    """Distinct (document, article) citations of the best hits, best first."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for hit in hits:
        key = (hit.doc_id, hit.article)
        if not hit.doc_id or key in seen:
            continue
        seen.add(key)
        out.append(citation(hit))
        if len(out) == limit:
            break
    return out


def format_answer(hits: Sequence[SearchHit]) -> tuple[str, dict[str, Any]]:
    """(text, json_message) for the best usable hit; the caller checks ``hits`` is not empty."""
    usable = [h for h in hits if is_usable(h)]
    if not usable:
        raise ValueError("format_answer needs at least one usable hit; use NO_ANSWER_TEXT otherwise")
    best = usable[0]
    lines = [answer_body(best)]
    basis = basis_line(best)
    if basis:
        lines.append(basis)
    lines.append(applicability_line(best))
    payload = {
        "citations": citations(usable),
        "answer_kind": "faq" if best.kind == "faq" else "article",
    }
    return "\n".join(lines), payload
