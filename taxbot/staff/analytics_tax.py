"""Labels the analytics give a question: its tax types, its grouping key, its channel and a pseudonym.

Tax types come first from the knowledge base: the FAQ entries and documents an answer was built from
(their ``tax_types``). A question without sources (the bot found nothing) gets the tax types its text names
or hints at, aliases normalised with the project's synonym table (个税 → 个人所得税) and detected by the same
``detect_tax_types`` the search uses, over the loaders' tax type vocabulary. Otherwise it is 未分类.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from index.ranking import detect_tax_types
from index.tokenize import cut
from knowledge_base.loaders.metadata import TAX_TYPES
from knowledge_base.store import schema as kb
from knowledge_base.synonyms import normalize_terms

UNCLASSIFIED = "未分类"
CHANNELS = {"web": "网页", "wechat": "微信", "sms": "短信"}


def channel_of(conversation_id: str) -> str:
    """``wechat:<openid>`` → wechat, ``sms-<pseudonym>`` → sms, anything else → web."""
    if conversation_id.startswith("wechat:"):
        return "wechat"
    if conversation_id.startswith("sms-"):
        return "sms"
    return "web"


def pseudonym(conversation_id: str) -> str:
    """A short stable label such as ``微信-1a2b3c4d``: the raw id (an openid) is never shown."""
    digest = hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:8]
    return f"{CHANNELS[channel_of(conversation_id)]}-{digest}"


def normalise(text: str) -> str:
    """The question for counting: NFKC (full-width → half-width), lower case, without punctuation,
    symbols or whitespace (Unicode categories P*, S*, Z*, C*)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PSZC")


def group_key(text: str, sources: Sequence[str]) -> str:
    """Near-duplicates answered from the same FAQ entry or article count as one question; else the text."""
    return f"source:{sources[0]}" if sources else f"text:{normalise(text)}"


class TaxTypes:
    """Source id (``faq:<id>``, ``<doc_id>#<article>``) → tax types, read once from the knowledge store."""

    def __init__(self, faqs: dict[str, tuple[str, ...]], documents: dict[str, tuple[str, ...]]) -> None:
        self.faqs = faqs
        self.documents = documents

    @classmethod
    def from_engine(cls, engine: sa.Engine | None) -> TaxTypes:
        """From the knowledge store's tables (``None``: no store, text detection only)."""
        if engine is None:
            return cls({}, {})
        with engine.connect() as conn:
            faqs = {
                r.id: tuple(r.tax_types or ())
                for r in conn.execute(sa.select(kb.faqs.c.id, kb.faqs.c.tax_types))
            }
            docs = {
                r.id: tuple(r.tax_types or ())
                for r in conn.execute(sa.select(kb.documents.c.id, kb.documents.c.tax_types))
            }
        return cls(faqs, docs)

    def of_sources(self, sources: Iterable[str]) -> tuple[str, ...]:
        found: list[str] = []
        for source in sources:
            if source.startswith("faq:"):
                found += self.faqs.get(source[4:], ())
            else:
                found += self.documents.get(source.partition("#")[0], ())
        return tuple(dict.fromkeys(found))

    @staticmethod
    def of_text(text: str) -> tuple[str, ...]:
        tokens = normalize_terms(cut(text))
        return tuple(sorted(detect_tax_types("".join(tokens), tokens, TAX_TYPES)))

    def of(self, text: str, sources: Sequence[str]) -> tuple[str, ...]:
        """The question's tax types (never empty: 未分类 when nothing is known)."""
        return self.of_sources(sources) or self.of_text(text) or (UNCLASSIFIED,)
