"""Loaders: regulation files (Markdown with front matter, text, DOCX, PDF, HTML) → Documents.

``load_file`` reads one file or raises a LoaderError naming the file and the reason; ``load_paths``
walks files and folders, reports per-file problems and goes on with the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.loaders.docx_reader import read_docx
from knowledge_base.loaders.frontmatter import document_from_markdown, split_front_matter
from knowledge_base.loaders.html_reader import read_html
from knowledge_base.loaders.metadata import doc_id_for, guess_metadata
from knowledge_base.loaders.pdf_reader import read_pdf
from knowledge_base.loaders.readers import Extracted, decode, read_text
from knowledge_base.loaders.structure import heading_text, split_articles
from knowledge_base.models import DocStatus, Document
from taxbot.errors import EmptyDocument, LoaderError, UnsupportedFileType

SUFFIXES = (".md", ".txt", ".docx", ".pdf", ".html", ".htm")


@dataclass
class LoadProblem:
    path: str
    reason: str


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # doc_id -> what could not be determined


def _title_and_body(extracted: Extracted) -> tuple[str, list[str]]:
    paragraphs = list(extracted.paragraphs)
    title = heading_text(extracted.title) if extracted.title else ""
    if not title:
        title = heading_text(paragraphs[0])
    if paragraphs and heading_text(paragraphs[0]) == title:
        paragraphs = paragraphs[1:]
    return title, paragraphs


def document_from_text(path: Path, extracted: Extracted, *, region: str | None) -> tuple[Document, list[str]]:
    """A Document from a file without front matter; metadata read from the text, gaps noted."""
    title, body = _title_and_body(extracted)
    if not body:
        raise EmptyDocument(f"{path}: only a title ({title!r}), no body text")
    try:
        guess = guess_metadata(title, body, region=region)
    except ValueError as exc:
        raise LoaderError(f"{path}: {exc}") from exc
    doc_id = doc_id_for(guess.doc_number, title)
    # a 文号 line right under the title is metadata, not content
    articles = split_articles(doc_id, body, title=title, skip=[guess.doc_number])
    if not articles:
        raise EmptyDocument(f"{path}: no text besides the title and 文号")
    doc = Document(
        id=doc_id,
        title=title,
        doc_number=guess.doc_number,
        issuer=guess.issuer,
        doc_type=guess.doc_type,
        region=guess.region,
        published=guess.published,
        effective=guess.effective,
        status=DocStatus.VALID,
        tax_types=guess.tax_types,
        source=str(path),
        articles=articles,
    )
    return doc, guess.notes


def load_file(path: Path, *, region: str | None = None) -> tuple[Document, list[str]]:
    """One regulation file → (Document, notes on what could not be determined). Raises LoaderError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFileType(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected {', '.join(SUFFIXES)}"
        )
    try:
        if suffix == ".md":
            text = decode(path.read_bytes(), path)
            front, _ = split_front_matter(text)
            if front is not None:
                return document_from_markdown(path, text, front)
            extracted = read_text(path)
        elif suffix == ".txt":
            extracted = read_text(path)
        elif suffix == ".docx":
            extracted = read_docx(path)
        elif suffix == ".pdf":
            extracted = read_pdf(path)
        else:
            extracted = read_html(path)
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    return document_from_text(path, extracted, region=region)


def _expand(paths: Sequence[Path]) -> tuple[list[Path], list[LoadProblem]]:
    files: list[Path] = []
    problems: list[LoadProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUFFIXES and p.name != "README.md"
            )
        elif path.is_file():
            files.append(path)
        else:
            problems.append(LoadProblem(str(path), "no such file or folder"))
    return files, problems


def load_paths(
    paths: Sequence[Path],
    *,
    region: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> LoadReport:
    """Load every supported file under ``paths`` (folders recurse; a folder's README.md is skipped).

    Problems are collected per file; two files with the same document id: the second is a problem.
    ``progress(done, total, path)`` is called after each file.
    """
    files, problems = _expand(paths)
    report = LoadReport(problems=problems)
    seen: dict[str, str] = {}
    for done, path in enumerate(files, start=1):
        try:
            doc, notes = load_file(path, region=region)
        except LoaderError as exc:
            report.problems.append(LoadProblem(str(path), str(exc)))
        else:
            if doc.id in seen:
                report.problems.append(
                    LoadProblem(str(path), f"document id {doc.id!r} already loaded from {seen[doc.id]}")
                )
            else:
                seen[doc.id] = str(path)
                report.documents.append(doc)
                if notes:
                    report.notes[doc.id] = notes
        if progress:
            progress(done, len(files), str(path))
    return report


__all__ = ["SUFFIXES", "LoadProblem", "LoadReport", "load_file", "load_paths"]
