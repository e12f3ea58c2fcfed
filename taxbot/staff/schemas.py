"""Request and response shapes of the staff API (XCreate / XUpdate / XPublic)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from knowledge_base.models import NATIONAL, DocStatus, DocType
from knowledge_base.regions import normalize_region


def _region(value: str) -> str:
    value = value.strip()
    if not value or value == NATIONAL:
        return NATIONAL
    canonical = normalize_region(value)
    if canonical is None:
        raise ValueError(f"unknown region {value!r}")
    return canonical


def _clean_list(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


class TokenCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenPublic(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime


class UserPublic(BaseModel):
    username: str
    role: str
    active: bool
    created_at: datetime


class CitationIn(BaseModel):
    doc_id: str = Field(min_length=1, max_length=200)
    article: str = Field(default="", max_length=64)


class FaqCreate(BaseModel):
    question: str = Field(min_length=2, max_length=500)
    similar_questions: list[str] = Field(default_factory=list, max_length=30)
    answer: str = Field(min_length=2, max_length=5000)
    citations: list[CitationIn] = Field(default_factory=list, max_length=20)
    region: str = NATIONAL
    tax_types: list[str] = Field(default_factory=list, max_length=20)
    valid_from: date | None = None
    valid_to: date | None = None

    _lists = field_validator("similar_questions", "tax_types")(_clean_list)
    _region = field_validator("region")(_region)

    @field_validator("question", "answer")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _dates(self) -> FaqCreate:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self


class FaqUpdate(FaqCreate):
    """A new version of a draft (all fields, as in the form)."""


class Review(BaseModel):
    comment: str = Field(default="", max_length=2000)


class RejectReview(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


class Rollback(BaseModel):
    version: int = Field(ge=1)


class FaqPublic(BaseModel):
    id: str
    question: str
    similar_questions: list[str]
    answer: str
    citations: list[CitationIn]
    region: str
    tax_types: list[str]
    valid_from: date | None
    valid_to: date | None
    status: str
    version: int
    updated_at: datetime | None
    review: dict | None = None  # the latest review of the current version: decision, comment, reviewer


class DocumentReview(BaseModel):
    """The reviewer's corrected metadata of an uploaded regulation."""

    id: str = Field(min_length=2, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str = Field(min_length=2, max_length=500)
    doc_number: str = Field(default="", max_length=200)
    issuer: str = Field(default="", max_length=200)
    doc_type: DocType = DocType.OTHER
    region: str = NATIONAL
    published: date | None = None
    effective: date | None = None
    expires: date | None = None
    status: DocStatus = DocStatus.VALID
    tax_types: list[str] = Field(default_factory=list, max_length=20)

    _lists = field_validator("tax_types")(_clean_list)
    _region = field_validator("region")(_region)

    @model_validator(mode="after")
    def _dates(self) -> DocumentReview:
        if self.effective and self.expires and self.expires < self.effective:
            raise ValueError(f"expires {self.expires} is before effective {self.effective}")
        return self
