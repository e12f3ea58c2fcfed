"""Markdown with YAML front matter (the ../shared/corpus format) → Document."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.loaders.structure import split_articles
from knowledge_base.models import NATIONAL, DocStatus, DocType, Document
from knowledge_base.regions import is_known_region, normalize_region
from taxbot.errors import BrokenFile, EmptyDocument

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_DOC_TYPES = {t.value for t in DocType}


def split_front_matter(text: str) -> tuple[str | None, str]:
    """(front matter YAML or None, body)."""
    match = _FRONT.match(text)
    if not match:
        return None, text
    return match.group(1), text[match.end() :]


def _date(value: Any, field: str, path: Path) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise BrokenFile(f"{path}: front matter {field}={value!r} is not a YYYY-MM-DD date") from exc


def _strings(value: Any, field: str, path: Path) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):  # "国家税务总局公告2019年第20号；2019年第45号第二条第二款"
        return tuple(part.strip() for part in re.split(r"[；;]", value) if part.strip())
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise BrokenFile(f"{path}: front matter {field}={value!r} must be a list of strings")


def document_from_markdown(path: Path, text: str, front: str) -> tuple[Document, list[str]]:
    try:
        meta = yaml.safe_load(front)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date Python cannot hold (0000-01-01)
        raise BrokenFile(f"{path}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise BrokenFile(f"{path}: front matter must be a mapping, got {type(meta).__name__}")
    notes: list[str] = []
    for required in ("id", "title"):
        if not str(meta.get(required) or "").strip():
            raise BrokenFile(f"{path}: front matter has no {required!r}")
    doc_id, title = str(meta["id"]).strip(), str(meta["title"]).strip()
    status_value = str(meta.get("status") or DocStatus.VALID)
    try:
        status = DocStatus(status_value)
    except ValueError as exc:
        allowed = "/".join(s.value for s in DocStatus)
        raise BrokenFile(f"{path}: front matter status={status_value!r} is not one of {allowed}") from exc
    doc_type = str(meta.get("doc_type") or "")
    if doc_type not in _DOC_TYPES:
        notes.append(f"doc_type: {doc_type!r} is not a known type; stored as {DocType.OTHER}")
        doc_type = DocType.OTHER
    region_value = str(meta.get("region") or NATIONAL)
    region = normalize_region(region_value) or region_value
    if not is_known_region(region):
        notes.append(f"region: {region_value!r} is not a known region name")
    if not meta.get("doc_number"):
        notes.append("文号: empty in the front matter")
    if not meta.get("effective"):
        notes.append("effective: not given")

    _, body = split_front_matter(text)
    skip = [
        str(meta.get("doc_number") or ""),
        *_strings(meta.get("doc_number_aliases"), "doc_number_aliases", path),
    ]
    articles = split_articles(doc_id, body.splitlines(), title=title, skip=skip)
    if not articles:
        raise EmptyDocument(f"{path}: the body after the front matter holds no text")
    doc = Document(
        id=doc_id,
        title=title,
        doc_number=str(meta.get("doc_number") or ""),
        doc_number_aliases=_strings(meta.get("doc_number_aliases"), "doc_number_aliases", path),
        issuer=str(meta.get("issuer") or ""),
        doc_type=doc_type,
        region=region,
        published=_date(meta.get("published"), "published", path),
        effective=_date(meta.get("effective"), "effective", path),
        expires=_date(meta.get("expires"), "expires", path),
        status=status,
        status_note=str(meta.get("status_note") or ""),
        superseded_by=str(meta.get("superseded_by") or ""),
        supersedes=_strings(meta.get("supersedes"), "supersedes", path),
        tax_types=_strings(meta.get("tax_types"), "tax_types", path),
        source=str(meta.get("source") or ""),
        articles=articles,
    )
    return doc, notes
