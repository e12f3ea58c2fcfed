"""DOCX files through python-docx: paragraphs (a Title/Heading style first one is the title), then tables."""

from __future__ import annotations

import zipfile
from pathlib import Path

from knowledge_base.loaders.readers import Extracted, clean_paragraphs, nonempty
from taxbot.errors import BrokenFile


def read_docx(path: Path) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BrokenFile(f"{path}: not a readable DOCX file ({exc})") from exc
    title = ""
    lines: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        if not title and not lines and (style.startswith("Title") or style.startswith("Heading")):
            title = text
        lines.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells if cell.text.strip()]
            if cells:
                lines.append(" | ".join(dict.fromkeys(cells)))
    return nonempty(path, Extracted(title, clean_paragraphs(lines)))
