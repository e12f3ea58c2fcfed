"""Tax term synonyms: what taxpayers type (个税, 专票, 数电票) mapped to the canonical term.

The table lives in ``synonyms.yml`` (canonical term -> aliases). Search normalises query tokens with
``normalize_terms`` so "个税" and "个人所得税" find the same regulations.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from taxbot.errors import KnowledgeBaseError

SYNONYMS_FILE = Path(__file__).resolve().parent / "synonyms.yml"


def read_synonym_table(path: Path = SYNONYMS_FILE) -> dict[str, list[str]]:
    """The canonical term -> aliases table as written in the YAML file (validated)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeBaseError(f"cannot read synonyms file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"synonyms file {path} must map canonical terms to lists of aliases")
    table: dict[str, list[str]] = {}
    for canonical, aliases in data.items():
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise KnowledgeBaseError(
                f"synonyms file {path}: aliases of {canonical!r} must be a list of strings"
            )
        table[str(canonical)] = list(aliases)
    return table


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for canonical, aliases in read_synonym_table(Path(path)).items():
        for alias in aliases:
            previous = mapping.get(alias)
            if previous and previous != canonical:
                raise KnowledgeBaseError(
                    f"synonyms file {path}: alias {alias!r} is listed under {previous!r} and {canonical!r}"
                )
            mapping[alias] = canonical
            mapping[alias.lower()] = canonical
    return mapping


def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, str]:
    """alias -> canonical term (aliases also in lower case, as the tokenizer lower-cases ASCII)."""
    return dict(_load(str(path)))


def normalize_terms(tokens: list[str], *, path: Path = SYNONYMS_FILE) -> list[str]:
    """``tokens`` with every known alias replaced by its canonical term; other tokens unchanged."""
    mapping = _load(str(path))
    return [mapping.get(token, mapping.get(token.lower(), token)) for token in tokens]
