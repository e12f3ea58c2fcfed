"""Link repealed or replaced documents to their successors and fill in when they stopped applying.

Three sources, in this order: a document's own ``superseded_by``; another document's ``supersedes``
list (ids, 文号 or titles); and repeal sentences in a document's text — "《中华人民共和国增值税暂行条例》
同时废止" (repealed on the day the repealing text takes effect) or "《…》自2026年1月1日起废止".
A partial repeal ("《…》（2019年第14号）第八条……同时废止") does not end the whole document. No date is
ever invented: without the successor's effective date (or a date in the sentence) nothing is filled.
Hand-written: no library reads Chinese repeal clauses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from knowledge_base.loaders.metadata import find_dates
from knowledge_base.models import Document

_TITLE = re.compile(r"[《〈]([^《》〈〉]{2,120})[》〉]")
_PARENS = re.compile(r"^\s*[（(]([^（）()]{1,80})[）)]")
_PARTIAL = re.compile(r"^\s*(?:第[零〇一二两三四五六七八九十百千\d]+[条款项]|附件|附表|的第)")
_REPEAL_ON = re.compile(
    r"自\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起?\s*(?:全文)?(?:废止|停止执行|失效)"
)
_EFFECTIVE = re.compile(r"自\s*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起?\s*(?:施行|执行|实施)")
_SHORT_NUMBER = re.compile(r"^(\d{4})年第(\d+)号$")


def _norm(text: str) -> str:
    return re.sub(r"[\s\u3000]+", "", text).replace("〈", "《").replace("〉", "》")


class _Index:
    def __init__(self, docs: Sequence[Document]):
        self.by_id = {d.id: d for d in docs}
        self.by_number: dict[str, list[str]] = {}
        self.by_title: dict[str, list[str]] = {}
        for d in docs:
            for number in (d.doc_number, *d.doc_number_aliases):
                if number:
                    self.by_number.setdefault(_norm(number), []).append(d.id)
            self.by_title.setdefault(_norm(d.title), []).append(d.id)

    def resolve(self, ref: str) -> list[str]:
        """Ids a reference names: an id, a 文号 or a title."""
        ref = ref.strip()
        if ref in self.by_id:
            return [ref]
        key = _norm(ref).strip("《》")
        return self.by_number.get(key) or self.by_title.get(key) or []


def _full_number(short: str, title: str) -> str:
    """ "2023年第1号" under a title "国家税务总局关于…" → "国家税务总局公告2023年第1号"."""
    m = _SHORT_NUMBER.match(_norm(short))
    issuer = re.match(r"^(.{2,60}?)关于", _norm(title))
    if m and issuer:
        orgs = issuer.group(1).replace("、", "")
        return f"{orgs}公告{m.group(1)}年第{m.group(2)}号"
    return short


def repeal_mentions(text: str) -> list[tuple[str, str, date | None, bool]]:
    """(title, 文号 in brackets or "", repeal date named in the sentence or None, partial?) per repeal."""
    found: list[tuple[str, str, date | None, bool]] = []
    for sentence in re.split(r"[。\n]", text):
        if "废止" not in sentence and "失效" not in sentence:
            continue
        clause_end = max(sentence.rfind("废止"), sentence.rfind("失效"))
        on = _REPEAL_ON.search(sentence) or _EFFECTIVE.search(sentence)
        when = find_dates(on.group(1))[0] if on else None
        for m in _TITLE.finditer(sentence[:clause_end]):
            rest = sentence[m.end() : clause_end]
            number = ""
            paren = _PARENS.match(rest)
            if paren:
                number, rest = paren.group(1).strip(), rest[paren.end() :]
            found.append((m.group(1), number, when, bool(_PARTIAL.match(rest))))
    return found


def link_repeals(docs: Sequence[Document]) -> list[Document]:
    """``docs`` with ``expires`` (and ``superseded_by``, when empty) filled from their successors."""
    index = _Index(docs)
    ends: dict[str, tuple[date, str]] = {}  # doc id -> (repeal date, successor id)

    def mark(target_id: str, when: date | None, successor: Document) -> None:
        target = index.by_id[target_id]
        if target_id == successor.id or when is None:
            return
        if target.effective and target.effective >= when:  # a later version of the same title
            return
        if target_id not in ends or when < ends[target_id][0]:
            ends[target_id] = (when, successor.id)

    for doc in docs:
        successor = index.by_id.get(doc.superseded_by)
        if successor is not None:
            mark(doc.id, successor.effective, successor)
    for doc in docs:
        for ref in doc.supersedes:
            for target_id in index.resolve(ref):
                mark(target_id, doc.effective, doc)
        for article in doc.articles:
            for title, number, when, partial in repeal_mentions(article.text):
                if partial:
                    continue
                targets = index.resolve(title)
                if not targets and number:
                    targets = index.resolve(_full_number(number, title))
                for target_id in targets:
                    mark(target_id, when or doc.effective, doc)

    result: list[Document] = []
    for doc in docs:
        end = ends.get(doc.id)
        if end is None:
            result.append(doc)
            continue
        when, successor = end
        result.append(
            replace(
                doc,
                expires=doc.expires or when,
                superseded_by=doc.superseded_by or successor,
            )
        )
    return result
