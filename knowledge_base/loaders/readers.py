"""What every format reader returns, plus the plain-text reader (utf-8, utf-8 with BOM, gb18030).

Each reader (here and in ``docx_reader``, ``pdf_reader``, ``html_reader``) returns an ``Extracted``
(a title hint and body paragraphs) or raises a LoaderError subclass naming the file and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from taxbot.errors import EmptyDocument, UndecodableFile

ENCODINGS = ("utf-8-sig", "utf-8", "gb18030")


@dataclass(frozen=True)
class Extracted:
    title: str  # the document's own title if the format marks one (DOCX Title/Heading style, HTML <h1>)
    paragraphs: list[str]


def decode(data: bytes, path: Path) -> str:
    """``data`` decoded as utf-8 (with or without BOM) or gb18030; UndecodableFile otherwise."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UndecodableFile(f"{path}: not valid text in any of {', '.join(ENCODINGS)}")


def clean_paragraphs(lines: list[str]) -> list[str]:
    return [re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in lines if line.strip()]


def nonempty(path: Path, extracted: Extracted) -> Extracted:
    if not extracted.paragraphs:
        raise EmptyDocument(f"{path}: the file holds no text")
    return extracted


def read_text(path: Path) -> Extracted:
    text = decode(path.read_bytes(), path)
    if "\x00" in text:
        raise UndecodableFile(f"{path}: binary data (NUL bytes) in a text file")
    return nonempty(path, Extracted("", clean_paragraphs(text.splitlines())))
