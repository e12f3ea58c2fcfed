"""Pure formatting of search hits into what the taxpayer reads and the channels render.

No I/O and no Rasa objects: hits in, strings and JSON-ready dicts out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from knowledge_base.models import NATIONAL, Applicability, DocStatus, SearchHit

HOTLINE = "12366"
EXCERPT_CHARS = 300
MAX_CITATIONS = 3
MORE = "……（查看全文）"
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=\S)|(?<=\S) (?=[\u3000-\u9fff\uff00-\uffef])")

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
    flat = flatten(text)
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    end = max(cut.rfind(mark) for mark in "。；;！？")
    if end >= limit // 2:
        return cut[: end + 1] + "……"
    return cut + "……"


def flatten(text: str) -> str:
    """Whitespace collapsed; none left next to Chinese characters or punctuation (YAML line folding)."""
    return _CJK_GAP.sub("", " ".join(text.split()))


def condensed(text: str, limit: int = EXCERPT_CHARS) -> tuple[str, bool]:
    """(``text`` cut to about ``limit`` characters ending in "……（查看全文）", whether it was cut)."""
    flat = flatten(text)
    if len(flat) <= limit:
        return flat, False
    return excerpt(flat, limit).removesuffix("……") + MORE, True


def is_usable(hit: SearchHit) -> bool:
    """A hit the bot may answer from today: never a repealed, replaced or historical rule."""
    if hit.applicability == Applicability.HISTORICAL:
        return False
    return hit.status not in (DocStatus.REPEALED, DocStatus.AMENDED)


def usable_at(hit: SearchHit, as_of: date | None) -> bool:
    """A hit that applied on ``as_of`` (the retriever judged it at that date); today: ``is_usable``."""
    if as_of is None:
        return is_usable(hit)
    return hit.applicability != Applicability.HISTORICAL


def no_longer_in_force(hit: SearchHit, today: date) -> bool:
    """A rule that applied at some past date but not any more (repealed, expired or replaced)."""
    if hit.expires is not None:
        return hit.expires <= today
    return hit.status in (DocStatus.REPEALED, DocStatus.AMENDED)


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


def historical_line(hit: SearchHit, as_of: date) -> str:
    """The warning put first when the answer is a rule of the past that no longer applies."""
    until = f"，{hit.expires.isoformat()}起不再适用" if hit.expires else ""
    return (
        f"【历史规定】以下是{as_of.year}年{as_of.month}月{as_of.day}日时适用的规定{until}（{hit.status}），"
        "不是现行规定；现行规定请去掉日期再问一次。"
    )


def answer_body(hit: SearchHit) -> str:
    """The answer itself: the FAQ answer, or the article text with where it comes from (uncut)."""
    if hit.kind == "faq" and hit.faq is not None:
        return hit.faq.answer.strip()
    if hit.kind == "faq":
        return hit.text.strip()
    source = f"《{hit.title}》{hit.article}" if hit.title else hit.article
    return f"{source}规定：{flatten(hit.text)}" if source else flatten(hit.text)


def citation(hit: SearchHit, *, historical: bool = False) -> dict[str, Any]:
    return {
        "doc_id": hit.doc_id,
        "title": hit.title,
        "doc_number": hit.doc_number,
        "article": hit.article,
        "region": hit.region or NATIONAL,
        "status": str(hit.status),
        "effective": hit.effective.isoformat() if hit.effective else None,
        "applicability": "historical" if historical else str(hit.applicability),
    }


def citations(
    hits: Sequence[SearchHit], limit: int = MAX_CITATIONS, *, historical: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Distinct (document, article) citations of the best hits, best first; FAQ hits cite their sources."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for hit in hits:
        key = (hit.doc_id, hit.article)
        if not hit.doc_id or key in seen:
            continue
        seen.add(key)
        out.append(citation(hit, historical=hit.doc_id in historical))
        if len(out) == limit:
            break
    return out


def source_ids(hits: Sequence[SearchHit], limit: int = MAX_CITATIONS) -> list[str]:
    """The chunk ids an answer was built from (what feedback and the conversation log record)."""
    return [hit.chunk_id for hit in hits[:limit]]


def format_answer(
    hits: Sequence[SearchHit], *, as_of: date | None = None, today: date | None = None
) -> tuple[str, dict[str, Any]]:
    """(text, json_message) for the best hit that applied at ``as_of`` (default: today).

    A past ``as_of`` whose best rule no longer applies gets the historical warning first and its
    citation marked ``historical``. The answer is cut to about 300 characters ("查看全文": the whole
    answer travels in ``full_answer``).
    """
    usable = [h for h in hits if usable_at(h, as_of)]
    if not usable:
        raise ValueError("format_answer needs at least one usable hit; use NO_ANSWER_TEXT otherwise")
    best = usable[0]
    today = today or date.today()
    old = as_of is not None and as_of < today and no_longer_in_force(best, today)
    full = answer_body(best)
    body, cut = condensed(full)
    lines = [historical_line(best, as_of)] if old and as_of else []
    lines.append(body)
    basis = basis_line(best)
    if basis:
        lines.append(basis)
    lines.append(applicability_line(best))
    historical = frozenset(h.doc_id for h in usable if old and as_of and no_longer_in_force(h, today))
    payload: dict[str, Any] = {
        "citations": citations(usable, historical=historical),
        "answer_kind": "faq" if best.kind == "faq" else "article",
        "sources": source_ids(usable),
        "applicability": "historical" if old else str(best.applicability),
    }
    if as_of is not None:
        payload["as_of"] = as_of.isoformat()
    if cut:
        payload["full_answer"] = full
    return "\n".join(lines), payload
