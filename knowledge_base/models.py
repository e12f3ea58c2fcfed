"""The knowledge model: regulations, their articles, curated FAQ entries and search hits.

Plain frozen dataclasses: the domain knows nothing about SQL, FAISS or Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

NATIONAL = "全国"


class DocStatus(StrEnum):
    VALID = "有效"
    AMENDED = "已修改"  # replaced by a later text of the same rule
    PARTIAL = "部分失效"
    REPEALED = "已废止"


class DocType(StrEnum):
    LAW = "法律"
    ADMIN_REGULATION = "行政法规"
    DEPARTMENT_RULE = "部门规章"
    NORMATIVE = "规范性文件"
    LOCAL_REGULATION = "地方性法规"
    LOCAL_RULE = "地方政府规章"
    JUDICIAL = "司法解释"
    OTHER = "其他"


class FaqStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Applicability(StrEnum):
    NATIONAL = "national"  # a national rule in force at the asked date
    LOCAL = "local"  # a rule of the asker's region (or its province) in force at the asked date
    HISTORICAL = "historical"  # not in force at the asked date; only returned when history is asked for


@dataclass(frozen=True)
class Article:
    """One searchable chunk of a document: an article (第X条) or, for announcements, a paragraph."""

    doc_id: str
    seq: int  # 0-based order inside the document
    label: str  # "第十八条", "第一条第二款", or "第3段" for paragraph chunks
    text: str
    chapter: str = ""  # "第二章 应纳税所得额"
    section: str = ""  # "第一节 ..."

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.seq}"


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    doc_number: str = ""  # 文号: "主席令第九号", "国家税务总局公告2026年第4号"
    doc_number_aliases: tuple[str, ...] = ()
    issuer: str = ""
    doc_type: str = DocType.OTHER
    region: str = NATIONAL  # "全国" or a province / city name
    published: date | None = None
    effective: date | None = None
    expires: date | None = None  # last day before it stopped applying (repeal / expiry date), if known
    status: DocStatus = DocStatus.VALID
    status_note: str = ""
    superseded_by: str = ""
    supersedes: tuple[str, ...] = ()
    tax_types: tuple[str, ...] = ()
    source: str = ""
    articles: tuple[Article, ...] = ()
    withdrawn: bool = False  # taken out of the knowledge base by an operator (kept for audit)

    @property
    def is_national(self) -> bool:
        return self.region == NATIONAL

    def in_force(self, as_of: date) -> bool:
        """Whether this text applied on ``as_of``.

        A repealed text whose end date is unknown is never treated as current. An amended text
        (已修改) without a known end date is amended in part and still applies; one replaced by a newer
        version gets ``expires`` from its successor (``knowledge_base.linking.link_repeals``).
        """
        if self.withdrawn:
            return False
        if self.effective and as_of < self.effective:
            return False
        if self.expires is not None:
            return as_of < self.expires
        return self.status != DocStatus.REPEALED


@dataclass(frozen=True)
class Citation:
    doc_id: str
    article: str = ""  # article label, e.g. "第十八条"; empty = the document as a whole


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    similar_questions: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    region: str = NATIONAL
    tax_types: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None  # last day the answer holds, if it is time-limited
    status: FaqStatus = FaqStatus.PUBLISHED
    updated_at: datetime | None = None
    version: int = 1

    def in_force(self, as_of: date) -> bool:
        if self.status != FaqStatus.PUBLISHED:
            return False
        if self.valid_from and as_of < self.valid_from:
            return False
        return not (self.valid_to and as_of > self.valid_to)


@dataclass(frozen=True)
class SearchHit:
    """One search result with what a taxpayer or agent needs to trust it."""

    kind: str  # "article" or "faq"
    chunk_id: str  # "<doc_id>#<seq>" or "faq:<faq_id>"
    doc_id: str  # the document's own id ("" for an FAQ without citation)
    title: str
    doc_number: str
    region: str
    status: str
    effective: date | None
    article: str  # article label
    text: str
    score: float
    applicability: Applicability
    expires: date | None = None
    issuer: str = ""
    doc_type: str = ""
    faq: FaqEntry | None = None
    citations: tuple[Citation, ...] = ()
    why: str = ""  # a short human explanation, e.g. "全国有效" / "北京市地方规定" / "已于2026-01-01废止"
    extra: dict = field(default_factory=dict, compare=False, hash=False)
