"""Split the body of a Chinese regulation into searchable chunks.

Hand-written on purpose: no library parses Chinese legal structure (章/节/条, 序言, announcement
paragraphs). Laws and regulations are split by article ("第X条", an article running over several
paragraphs until the next one) and keep their "第X章 …" / "第X节 …" headings; announcements without
article structure are split by paragraph ("第N段"), very short paragraphs merged into the next.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from knowledge_base.models import Article
from knowledge_base.numerals import CN_NUM, cn_to_int

_ARTICLE = re.compile(rf"^第([{CN_NUM}\d]+)条(?:之([{CN_NUM}]+))?([\s\u3000]*)(.*)$", re.S)
_CHAPTER = re.compile(rf"^第[{CN_NUM}\d]+[章编](?:[\s\u3000]+\S.*)?$")
_SECTION = re.compile(rf"^第[{CN_NUM}\d]+节(?:[\s\u3000]+\S.*)?$")
# amendment history under a law's title, e.g. "2018年8月31日 第十三届…第七次修正", "（2007年12月6日…公布）"
_HISTORY = re.compile(
    r"^[（(]?\s*(?:\d{4}|[〇零一二三四五六七八九]{4})\s*年.{0,80}?(?:通过|修正|修订|公布|发布|施行|批准)"
)
_TOC = re.compile(r"^目\s*录$")

MIN_PARAGRAPH = 40  # shorter announcement paragraphs are merged into the next one
MAX_MERGED = 600  # merging stops once a chunk is this long
MIN_PREAMBLE = 30  # a preamble shorter than this (after dropping history lines) is not kept


def heading_text(line: str) -> str:
    """A Markdown heading without its hashes, whitespace normalised ("## 第一章  总则" → "第一章 总则")."""
    return re.sub(r"[\s\u3000]+", " ", line.lstrip("#").strip())


def _article_head(paragraph: str, last_number: int) -> tuple[str, int, str] | None:
    """(label, number, rest of the paragraph) if ``paragraph`` starts a new article, else None.

    An article head is "第X条" followed by whitespace, numbered after the previous article; a head
    glued to its text is accepted only when it is exactly the next number (so "第五条规定的……"
    quoted inside an article does not start a new one).
    """
    match = _ARTICLE.match(paragraph)
    if not match:
        return None
    try:
        number = cn_to_int(match.group(1))
    except ValueError:
        return None
    spaced = bool(match.group(3)) or not match.group(4)
    if number <= last_number and not match.group(2):
        return None
    if not spaced and number != last_number + 1:
        return None
    label = f"第{match.group(1)}条" + (f"之{match.group(2)}" if match.group(2) else "")
    return label, number, match.group(4).strip()


def _is_number_line(paragraph: str, numbers: Sequence[str]) -> bool:
    """A line holding just a 文号, maybe with a prefix: "中华人民共和国主席令（第九号）"."""
    line = re.sub(r"[\s（）()]", "", paragraph)
    for number in numbers:
        bare = re.sub(r"[\s（）()]", "", number)
        if bare and line.endswith(bare) and len(line) <= len(bare) + 10:
            return True
    return False


def has_article_structure(paragraphs: Sequence[str]) -> bool:
    count, last = 0, 0
    for paragraph in paragraphs:
        head = _article_head(paragraph, last)
        if head:
            count += 1
            last = head[1]
    return count >= 2


def _substantive_preamble(paragraphs: list[str]) -> str:
    kept = [p for p in paragraphs if not _HISTORY.match(p) and not _TOC.match(p) and p not in "()（）"]
    text = "\n".join(kept).strip()
    return text if len(text) >= MIN_PREAMBLE else ""


def split_articles(
    doc_id: str, paragraphs: Sequence[str], *, title: str = "", skip: Sequence[str] = ()
) -> tuple[Article, ...]:
    """Chunks of a regulation body given as paragraphs (Markdown heading lines allowed).

    "# " headings, lines equal to ``title`` and lines in ``skip`` (e.g. the 文号 line) are dropped.
    """
    dropped = {title.strip()}
    cleaned = [p.strip() for p in paragraphs if p.strip()]
    cleaned = [
        p
        for p in cleaned
        if not (p.startswith("# ") or heading_text(p) in dropped or _is_number_line(p, skip))
    ]
    if has_article_structure([heading_text(p) if p.startswith("#") else p for p in cleaned]):
        return _by_article(doc_id, cleaned)
    return _by_paragraph(doc_id, cleaned)


def _by_article(doc_id: str, paragraphs: list[str]) -> tuple[Article, ...]:
    chunks: list[Article] = []
    preamble: list[str] = []
    chapter = section = ""
    label = ""
    body: list[str] = []
    last_number = 0
    in_articles = False

    def flush() -> None:
        if label and body:
            text = "\n".join(body).strip()
            chunks.append(Article(doc_id, len(chunks), label, text, chapter=art_chapter, section=art_section))

    art_chapter = art_section = ""
    for raw in paragraphs:
        line = heading_text(raw) if raw.startswith("#") else raw
        if _CHAPTER.match(line) and (raw.startswith("#") or len(line) <= 40):
            chapter, section = line, ""
            continue
        if _SECTION.match(line) and (raw.startswith("#") or len(line) <= 40):
            section = line
            continue
        head = _article_head(line, last_number)
        if head:
            flush()
            in_articles = True
            label, last_number, first = head
            art_chapter, art_section = chapter, section
            body = [f"{label} {first}".strip()]
        elif in_articles:
            body.append(line)
        else:
            preamble.append(line)
    flush()
    intro = _substantive_preamble(preamble)
    if intro:
        chunks.insert(0, Article(doc_id, 0, "序言", intro))
        chunks = [Article(doc_id, i, a.label, a.text, a.chapter, a.section) for i, a in enumerate(chunks)]
    return tuple(chunks)


def _by_paragraph(doc_id: str, paragraphs: list[str]) -> tuple[Article, ...]:
    texts: list[str] = []
    pending = ""
    for raw in paragraphs:
        line = heading_text(raw) if raw.startswith("#") else raw
        pending = f"{pending}\n{line}" if pending else line
        if len(pending) >= MIN_PARAGRAPH:
            texts.append(pending)
            pending = ""
    if pending:
        if texts and len(texts[-1]) + len(pending) <= MAX_MERGED + MIN_PARAGRAPH:
            texts[-1] = f"{texts[-1]}\n{pending}"
        else:
            texts.append(pending)
    return tuple(Article(doc_id, i, f"第{i + 1}段", text) for i, text in enumerate(texts))
