"""PDF files through pypdf; the layout lines it returns are joined back into paragraphs here."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge_base.loaders.readers import Extracted, clean_paragraphs, nonempty
from taxbot.errors import BrokenFile, EmptyDocument, NoTextLayer

_PARAGRAPH_START = re.compile(
    r"^(第[零〇一二两三四五六七八九十百千\d]+[条章节编]|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.、])"
)
_PARAGRAPH_END = re.compile(r"[。；：！？]$")
_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–]\s*)?(?:第\s*)?\d+\s*(?:页)?(?:\s*[-—–])?\s*$|^\s*\d+\s*/\s*\d+\s*$")


def join_pdf_lines(lines: list[str]) -> list[str]:
    """PDF text comes as layout lines; join them back into paragraphs.

    A line starts a new paragraph when the previous one ended a sentence (。；：), was short (a title
    or heading), or the line itself opens an article/list item ("第X条", "一、", "（一）").
    """
    lines = [line.strip() for line in lines if line.strip() and not _PAGE_NUMBER.match(line)]
    if not lines:
        return []
    width = max(len(line) for line in lines)
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs:
            prev = paragraphs[-1]
            last_line = prev.rsplit("\n", 1)[-1]
            new = _PARAGRAPH_END.search(prev) or _PARAGRAPH_START.match(line) or len(last_line) < width * 0.7
            if not new:
                paragraphs[-1] = prev + "\n" + line
                continue
        paragraphs.append(line)
    return [p.replace("\n", "") for p in paragraphs]


def read_pdf(path: Path) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BrokenFile(f"{path}: not a readable PDF file ({exc})") from exc
    if not pages:
        raise EmptyDocument(f"{path}: the PDF has no pages")
    text = "\n".join(pages)
    if not text.strip():
        raise NoTextLayer(
            f"{path}: the PDF's {len(pages)} page(s) carry no text layer (a scan?); run OCR first"
        )
    return nonempty(path, Extracted("", clean_paragraphs(join_pdf_lines(text.splitlines()))))
