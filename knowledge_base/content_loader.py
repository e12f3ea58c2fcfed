"""The shipped default knowledge base (``knowledge_base/content/``): YAML → Documents and FAQ entries.

Validates the rules in ``content/README.md``; every problem is returned as a message naming the file
and entry, never raised, so one bad entry does not hide the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.models import (
    NATIONAL,
    Article,
    Citation,
    DocStatus,
    DocType,
    Document,
    FaqEntry,
    FaqStatus,
)
from knowledge_base.regions import is_known_region

_DOC_KEYS = {f.name for f in fields(Document)} - {"withdrawn"}
_FAQ_KEYS = {
    "id",
    "question",
    "similar",
    "answer",
    "citations",
    "region",
    "tax_types",
    "valid_from",
    "valid_to",
    "status",
}
_DOC_TYPES = {t.value for t in DocType}
_LIST_FIELDS = ("doc_number_aliases", "supersedes", "tax_types")
_DATE_FIELDS = ("published", "effective", "expires")
_INFO_FIELDS = ("source", "status_note")  # may be given in one file only; everything else must agree


@dataclass
class Content:
    documents: list[Document] = field(default_factory=list)
    faqs: list[FaqEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Problems(list[str]):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


def _tidy(text: Any) -> str:
    """Text with each line stripped and blank lines dropped (line breaks of a `|` block are kept)."""
    return "\n".join(line.strip() for line in str(text or "").splitlines() if line.strip())


def _date(value: Any, where: str, name: str, problems: _Problems) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.add(where, f"{name}={value!r} is not a YYYY-MM-DD date")
        return None


def _str_list(value: Any, where: str, name: str, problems: _Problems) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(where, f"{name} must be a list of non-empty strings, got {value!r}")
        return ()
    return tuple(v.strip() for v in value)


def _region(value: Any, where: str, problems: _Problems) -> str:
    region = str(value or NATIONAL).strip()
    if not is_known_region(region):
        problems.add(where, f"region {region!r} is not a known region name (see knowledge_base.regions)")
    return region


def _document(raw: Any, where: str, problems: _Problems) -> Document | None:
    if not isinstance(raw, dict) or not str(raw.get("id") or "").strip():
        problems.add(where, f"a document entry must be a mapping with an id, got {raw!r:.80}")
        return None
    doc_id = str(raw["id"]).strip()
    where = f"{where} document {doc_id!r}"
    for key in sorted(set(raw) - _DOC_KEYS):
        problems.add(where, f"unknown key {key!r}")
    if not str(raw.get("title") or "").strip():
        problems.add(where, "no title")
    doc_type = str(raw.get("doc_type") or DocType.OTHER)
    if doc_type not in _DOC_TYPES:
        problems.add(where, f"doc_type {doc_type!r} is not one of {'/'.join(sorted(_DOC_TYPES))}")
    try:
        status = DocStatus(str(raw.get("status") or DocStatus.VALID))
    except ValueError:
        problems.add(
            where, f"status {raw.get('status')!r} is not one of {'/'.join(s.value for s in DocStatus)}"
        )
        status = DocStatus.VALID
    articles: list[Article] = []
    labels: set[str] = set()
    for i, art in enumerate(raw.get("articles") or []):
        if (
            not isinstance(art, dict)
            or not str(art.get("label") or "").strip()
            or not str(art.get("text") or "").strip()
        ):
            problems.add(where, f"article #{i + 1} needs a label and a text")
            continue
        label = str(art["label"]).strip()
        if label in labels:
            problems.add(where, f"article {label!r} appears twice")
            continue
        labels.add(label)
        articles.append(
            Article(doc_id, len(articles), label, _tidy(art["text"]),
                    chapter=str(art.get("chapter") or ""), section=str(art.get("section") or ""))
        )  # fmt: skip
    dates = {name: _date(raw.get(name), where, name, problems) for name in _DATE_FIELDS}
    if dates["effective"] and dates["expires"] and dates["expires"] <= dates["effective"]:
        problems.add(where, f"expires {dates['expires']} is not after effective {dates['effective']}")
    lists = {name: _str_list(raw.get(name), where, name, problems) for name in _LIST_FIELDS}
    return Document(
        id=doc_id,
        title=str(raw.get("title") or "").strip(),
        doc_number=str(raw.get("doc_number") or "").strip(),
        issuer=str(raw.get("issuer") or "").strip(),
        doc_type=doc_type,
        region=_region(raw.get("region"), where, problems),
        status=status,
        status_note=str(raw.get("status_note") or ""),
        superseded_by=str(raw.get("superseded_by") or "").strip(),
        source=str(raw.get("source") or ""),
        articles=tuple(articles),
        **dates,
        **lists,
    )


def _faq(raw: Any, where: str, problems: _Problems) -> FaqEntry | None:
    if not isinstance(raw, dict) or not str(raw.get("id") or "").strip():
        problems.add(where, f"an FAQ entry must be a mapping with an id, got {raw!r:.80}")
        return None
    faq_id = str(raw["id"]).strip()
    where = f"{where} faq {faq_id!r}"
    for key in sorted(set(raw) - _FAQ_KEYS):
        problems.add(where, f"unknown key {key!r}")
    for key in ("question", "answer"):
        if not str(raw.get(key) or "").strip():
            problems.add(where, f"no {key}")
    similar = _str_list(raw.get("similar"), where, "similar", problems)
    if len(similar) < 2:
        problems.add(where, f"needs at least 2 similar questions, has {len(similar)}")
    citations: list[Citation] = []
    for cite in raw.get("citations") or []:
        if not isinstance(cite, dict) or not str(cite.get("doc") or "").strip():
            problems.add(where, f"citation {cite!r} needs a doc")
            continue
        citations.append(Citation(str(cite["doc"]).strip(), str(cite.get("article") or "").strip()))
    if not citations:
        problems.add(where, "no citations (every answer cites a regulation)")
    try:
        status = FaqStatus(str(raw.get("status") or FaqStatus.PUBLISHED))
    except ValueError:
        problems.add(
            where, f"status {raw.get('status')!r} is not one of {'/'.join(s.value for s in FaqStatus)}"
        )
        status = FaqStatus.PUBLISHED
    entry = FaqEntry(
        id=faq_id,
        question=str(raw.get("question") or "").strip(),
        answer=_tidy(raw.get("answer")),
        similar_questions=similar,
        citations=tuple(citations),
        region=_region(raw.get("region"), where, problems),
        tax_types=_str_list(raw.get("tax_types"), where, "tax_types", problems),
        valid_from=_date(raw.get("valid_from"), where, "valid_from", problems),
        valid_to=_date(raw.get("valid_to"), where, "valid_to", problems),
        status=status,
    )
    if entry.valid_from and entry.valid_to and entry.valid_to < entry.valid_from:
        problems.add(where, f"valid_to {entry.valid_to} is before valid_from {entry.valid_from}")
    return entry


def _merge(first: Document, other: Document, where: str, problems: _Problems) -> Document:
    """Same-id documents from two files: metadata must agree; articles are unioned by label, first wins.

    ``source`` and ``status_note`` given in only one of the files are taken from it.
    """
    filled: dict[str, str] = {}
    for name in sorted(_DOC_KEYS - {"articles"}):
        theirs, mine = getattr(first, name), getattr(other, name)
        if theirs == mine:
            continue
        if name in _INFO_FIELDS and not (theirs and mine):
            filled[name] = theirs or mine  # an informational field given in only one file
            continue
        problems.add(
            where, f"document {first.id!r} {name}={mine!r} disagrees with {theirs!r} from an earlier file"
        )
    labels = {a.label for a in first.articles}
    extra = [a for a in other.articles if a.label not in labels]
    articles = [*first.articles, *extra]
    return replace(first, articles=tuple(replace(a, seq=i) for i, a in enumerate(articles)), **filled)


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so a bad date is one entry's problem, not the file's."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path, problems: _Problems) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        problems.add(str(path), f"cannot read YAML ({exc})")
        return None


def _yml_files(content_dir: Path, folder: str) -> list[Path]:
    return sorted([*(content_dir / folder).glob("*.yml"), *(content_dir / folder).glob("*.yaml")])


def load_content(content_dir: Path) -> Content:
    """Documents and FAQ entries of ``content_dir`` (documents/, faq/, local/), with every problem found."""
    problems = _Problems()
    content_dir = Path(content_dir)
    if not content_dir.is_dir():
        return Content(problems=[f"{content_dir}: content folder not found"])
    raw_docs: list[tuple[str, Any]] = []
    raw_faqs: list[tuple[str, Any]] = []
    for folder, sink in (("documents", raw_docs), ("faq", raw_faqs)):
        for path in _yml_files(content_dir, folder):
            data = _read_yaml(path, problems)
            if data is None:
                continue
            if not isinstance(data, list):
                problems.add(str(path), f"must hold a YAML list of entries, got {type(data).__name__}")
                continue
            sink.extend((str(path), item) for item in data)
    for path in _yml_files(content_dir, "local"):
        data = _read_yaml(path, problems)
        if data is None:
            continue
        if not isinstance(data, dict) or set(data) - {"documents", "faq"}:
            problems.add(str(path), "must be a mapping with `documents:` and/or `faq:` lists")
            continue
        for key, sink in (("documents", raw_docs), ("faq", raw_faqs)):
            items = data.get(key) or []
            if not isinstance(items, list):
                problems.add(str(path), f"`{key}:` must be a list")
                continue
            sink.extend((str(path), item) for item in items)

    documents: dict[str, Document] = {}
    for where, raw in raw_docs:
        doc = _document(raw, where, problems)
        if doc is not None:
            documents[doc.id] = (
                _merge(documents[doc.id], doc, where, problems) if doc.id in documents else doc
            )
    faqs: dict[str, FaqEntry] = {}
    for where, raw in raw_faqs:
        entry = _faq(raw, where, problems)
        if entry is None:
            continue
        if entry.id in faqs:
            problems.add(where, f"faq id {entry.id!r} is used twice")
            continue
        faqs[entry.id] = entry
        for cite in entry.citations:
            doc = documents.get(cite.doc_id)
            if doc is None:
                problems.add(where, f"faq {entry.id!r} cites unknown document {cite.doc_id!r}")
            elif cite.article and cite.article not in {a.label for a in doc.articles}:
                problems.add(
                    where, f"faq {entry.id!r} cites {cite.doc_id!r} {cite.article!r}, not in its articles"
                )
    return Content(documents=list(documents.values()), faqs=list(faqs.values()), problems=list(problems))


def content_fingerprint(content_dir: Path) -> str:
    """A hash of every YAML file under ``content_dir`` (names and bytes); changes when any content changes."""
    digest = hashlib.sha256()
    content_dir = Path(content_dir)
    for path in sorted(p for p in content_dir.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")):
        digest.update(path.relative_to(content_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
