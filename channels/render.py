"""Rendering an ``OutboundMessage`` as plain text within a channel's limits. Pure functions, no I/O.

Rich messages fall back to text as in Rasa's OutputChannel: buttons become numbered options
("回复1：…"), a later numeric reply is mapped back by ``parse_choice``; citations become one compact
"依据：《标题》（文号）第X条" line; images become their link.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from channels.base import Button, Citation, OutboundMessage

MAX_CITATIONS = 2
FULL_TEXT_WORD = "全文"
FULL_TEXT_HINT = "回复“全文”查看完整答复"
_CHOICE = re.compile(r"^\s*(?:回复|选择|选)?\s*(?:第)?\s*(\d{1,2})\s*(?:个|项)?\s*[.。、,，!！]?\s*$")


def numbered_options(buttons: Sequence[Button]) -> str:
    """``回复1：标题`` lines, one per button."""
    return "\n".join(f"回复{number}：{button.title}" for number, button in enumerate(buttons, start=1))


def parse_choice(text: str) -> int | None:
    """The option number in a reply such as "2", "２", "回复2", "第2个"; None for anything else."""
    match = _CHOICE.match(unicodedata.normalize("NFKC", text))
    return int(match.group(1)) if match else None


def citation_line(citations: Sequence[Citation], already: str = "", limit: int = MAX_CITATIONS) -> str:
    """ "依据：《A》（文号）第X条；《B》第Y条" for citations not already quoted in ``already``."""
    parts: list[str] = []
    for citation in citations:
        basis = citation.basis()
        if basis in already or basis in parts:
            continue
        parts.append(basis)
        if len(parts) == limit:
            break
    return f"依据：{'；'.join(parts)}" if parts else ""


def render_text(message: OutboundMessage) -> str:
    """The whole turn as one text: answers, links, citations, then the numbered options."""
    blocks = list(message.texts)
    blocks.extend(f"[链接] {url}" for url in message.attachments)
    body = "\n".join(blocks)
    basis = citation_line(message.citations, already=body)
    if basis:
        blocks.append(basis)
    if message.buttons:
        blocks.append(numbered_options(message.buttons))
    return "\n".join(blocks)


def is_full_text_request(text: str) -> bool:
    """ "全文", "回复全文", "查看全文", "“全文”"…: the taxpayer asks for the rest of the last answer."""
    flat = re.sub(r"[\s“”\"'「」。.!！]", "", unicodedata.normalize("NFKC", text))
    return flat in {FULL_TEXT_WORD, f"回复{FULL_TEXT_WORD}", f"查看{FULL_TEXT_WORD}"}


def document_link(base_url: str, doc_id: str, article: str = "") -> str:
    """``{base}/documents/{doc_id}?article=…`` (the app's document view), or "" without a base URL."""
    if not base_url or not doc_id:
        return ""
    link = f"{base_url.rstrip('/')}/documents/{quote(doc_id, safe='')}"
    return f"{link}?{urlencode({'article': article})}" if article else link


def split_utf8(text: str, limit_bytes: int) -> list[str]:
    """``text`` in pieces of at most ``limit_bytes`` UTF-8 bytes, cut at line ends where possible."""
    if limit_bytes < 4:
        raise ValueError(f"limit_bytes must be at least 4 (one character), got {limit_bytes}")
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if len((current + line).encode()) <= limit_bytes:
            current += line
            continue
        if current:
            pieces.append(current)
            current = ""
        while len(line.encode()) > limit_bytes:
            cut = _fit(line, limit_bytes)
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        pieces.append(current)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


def _fit(text: str, limit_bytes: int) -> int:
    """How many leading characters of ``text`` fit in ``limit_bytes``."""
    size = 0
    for index, char in enumerate(text):
        size += len(char.encode())
        if size > limit_bytes:
            return index
    return len(text)


def sms_pages(
    text: str, chars_single: int, chars_per_part: int, max_segments: int, tail: str
) -> tuple[list[str], str]:
    """(the SMS to send, the rest that did not fit) for ``text``.

    An answer of at most ``chars_single`` characters is one SMS. A longer one is sent as parts of
    ``chars_per_part`` characters (the concatenation header costs 3 of the 70, hence 67), each with an
    "(i/n)" marker because the network may deliver them out of order. Beyond ``max_segments`` parts the
    text is cut, ends with ``tail`` (e.g. "…回复“全文”查看完整答复") and the cut-off part is returned.
    """
    text = re.sub(r"[ \t]*\n[ \t\n]*", "\n", text.strip())
    if len(text) <= chars_single:
        return [text], ""
    marker = len(f"({max_segments}/{max_segments})")
    per = chars_per_part - marker
    if per < 10:
        raise ValueError(f"chars_per_part {chars_per_part} leaves no room for text after the (i/n) marker")
    rest = ""
    if math.ceil(len(text) / per) > max_segments:
        cut = per * max_segments - len(tail)
        text, rest = text[:cut].rstrip() + tail, text[cut:].strip()
    chunks = [text[start : start + per] for start in range(0, len(text), per)]
    return [f"({number}/{len(chunks)}){chunk}" for number, chunk in enumerate(chunks, start=1)], rest


def sms_segments(
    text: str, chars_per_sms: int, max_segments: int, more_info: str, chars_per_part: int | None = None
) -> list[str]:
    """``text`` as at most ``max_segments`` SMS: one of ``chars_per_sms`` characters, or parts of
    ``chars_per_part`` (default ``chars_per_sms``) with "(i/n)" markers, cut with "…``more_info``"."""
    parts, _ = sms_pages(text, chars_per_sms, chars_per_part or chars_per_sms, max_segments, f"…{more_info}")
    return parts
