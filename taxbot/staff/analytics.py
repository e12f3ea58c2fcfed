"""The console's 数据分析: figures from the conversation tables (SQLAlchemy Core; SQLite and PostgreSQL).

What the figures mean:

* a *question* is a typed taxpayer turn (not a ``/payload`` button) that the bot tried to answer: the next
  bot turn of the conversation, after any clarifying turns (asking for the region), is an answer (answer kind
  faq / article / calculation) or an apology (``none`` / ``no_answer``). Greetings, thanks and requests for a
  human are not questions;
* answer rate = answered questions / questions; handoff rate = handoffs / conversations (those with a turn
  in the week); satisfaction = mean of the 1–5 ratings. Weeks start on Monday, in UTC like the audit log;
* filters: date range (inclusive), region (of the answer / the feedback), channel (from the conversation
  id), tax type (see ``analytics_tax``: from the answer's sources, else from the question text);
* every text is masked again on the way out and conversations are shown by pseudonym only.

Rows are read for the range and aggregated here, which keeps one code path for both databases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from channels.masking import mask
from knowledge_base.models import NATIONAL
from taxbot.conversations.schema import feedback, handoffs, turns
from taxbot.staff.analytics_filters import Filters, week_of, weeks
from taxbot.staff.analytics_tax import CHANNELS, TaxTypes, channel_of, group_key, pseudonym

ANSWERED = ("faq", "article", "calculation")
NOT_ANSWERED = ("none", "no_answer")
CLARIFYING = ("clarify",)
GROUP_BY = {"all": "全部", "week": "按周", "region": "按地区", "tax_type": "按税种"}
LOW_RATING = 2


@dataclass(frozen=True)
class Question:
    conversation_id: str
    at: datetime
    text: str
    answered: bool
    sources: tuple[str, ...]
    region: str
    tax_types: tuple[str, ...]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Analytics:
    """The figures for one set of filters; ``tax_types`` labels questions (see ``analytics_tax``)."""

    def __init__(self, engine: sa.Engine, tax_types: TaxTypes) -> None:
        self.engine = engine
        self.tax_types = tax_types

    # --- reading -----------------------------------------------------------------------------------
    @staticmethod
    def _channel(column: sa.ColumnElement[str], channel: str | None) -> list[sa.ColumnElement[bool]]:
        wechat, sms = column.startswith("wechat:"), column.startswith("sms-")
        return {None: [], "wechat": [wechat], "sms": [sms], "web": [~wechat, ~sms]}[channel]

    def questions(self, f: Filters) -> list[Question]:
        """The range's questions with their outcome, oldest first, region and tax type filters applied."""
        query = (
            sa.select(
                turns.c.conversation_id,
                turns.c.at,
                turns.c.role,
                turns.c.text,
                turns.c.answer_kind,
                turns.c.sources,
                turns.c.region,
            )
            .where(
                turns.c.at >= f.since,
                turns.c.at < f.until,
                *self._channel(turns.c.conversation_id, f.channel),
            )
            .order_by(turns.c.conversation_id, turns.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        found = [q for q in self._pair(rows) if (not f.region or q.region == f.region)]
        if f.tax_type:
            found = [q for q in found if f.tax_type in q.tax_types]
        return sorted(found, key=lambda q: q.at)

    def _pair(self, rows: list[sa.Row]) -> Iterator[Question]:
        pending: sa.Row | None = None
        for row in rows:
            if pending is not None and row.conversation_id != pending.conversation_id:
                pending = None
            if row.role == "taxpayer":
                if not row.text.startswith("/"):  # a button (/inform_region) answers the pending question
                    pending = row
            elif row.role == "bot" and pending is not None and row.answer_kind not in CLARIFYING:
                if row.answer_kind in ANSWERED or row.answer_kind in NOT_ANSWERED:
                    sources = tuple(row.sources or ()) if row.answer_kind in ANSWERED else ()
                    yield Question(
                        pending.conversation_id,
                        _utc(pending.at),
                        mask(pending.text),
                        row.answer_kind in ANSWERED,
                        sources,
                        row.region or NATIONAL,
                        self.tax_types.of(pending.text, sources),
                    )
                pending = None

    def _feedback(self, f: Filters, *conditions: sa.ColumnElement[bool]) -> list[sa.Row]:
        query = (
            sa.select(feedback)
            .where(
                feedback.c.at >= f.since,
                feedback.c.at < f.until,
                *conditions,
                *self._channel(feedback.c.conversation_id, f.channel),
                *([feedback.c.region == f.region] if f.region else []),
            )
            .order_by(feedback.c.at.desc(), feedback.c.id.desc())
        )
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def _conversations(self, f: Filters, asked: list[Question]) -> dict[str, set[str]]:
        """Week → conversations with a turn that week (region / tax type: with such a question)."""
        query = sa.select(turns.c.conversation_id, turns.c.at, turns.c.region).where(
            turns.c.at >= f.since,
            turns.c.at < f.until,
            *self._channel(turns.c.conversation_id, f.channel),
            *([turns.c.region == f.region] if f.region else []),
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        keep = {q.conversation_id for q in asked} if f.tax_type else None
        by_week: dict[str, set[str]] = defaultdict(set)
        for row in rows:
            if keep is None or row.conversation_id in keep:
                by_week[week_of(_utc(row.at))].add(row.conversation_id)
        return by_week

    # --- the tables --------------------------------------------------------------------------------
    def overview(self, f: Filters) -> list[dict[str, Any]]:
        """Per week: questions, answered, answer rate, conversations, handoffs, handoff rate, ratings."""
        asked: Counter[str] = Counter()
        answered: Counter[str] = Counter()
        questions = self.questions(f)
        for q in questions:
            asked[week_of(q.at)] += 1
            answered[week_of(q.at)] += q.answered
        conversations = self._conversations(f, questions)
        everyone = set().union(*conversations.values()) if conversations else set()
        query = sa.select(handoffs.c.conversation_id, handoffs.c.created_at).where(
            handoffs.c.created_at >= f.since,
            handoffs.c.created_at < f.until,
            *self._channel(handoffs.c.conversation_id, f.channel),
        )
        with self.engine.connect() as conn:
            handed = Counter(
                week_of(_utc(r.created_at)) for r in conn.execute(query) if r.conversation_id in everyone
            )
        ratings: dict[str, list[int]] = defaultdict(list)
        for r in self._feedback(f, feedback.c.kind == "rating", feedback.c.rating.is_not(None)):
            if not f.tax_type or r.conversation_id in everyone:
                ratings[week_of(_utc(r.at))].append(r.rating)
        return [
            {
                "week": w,
                "questions": asked[w],
                "answered": answered[w],
                "answer_rate": _rate(answered[w], asked[w]),
                "conversations": len(conversations.get(w, ())),
                "handoffs": handed[w],
                "handoff_rate": _rate(handed[w], len(conversations.get(w, ()))),
                "ratings": len(ratings[w]),
                "mean_rating": round(sum(ratings[w]) / len(ratings[w]), 2) if ratings[w] else None,
            }
            for w in weeks(f)
        ]

    def unanswered(self, f: Filters, limit: int = 200) -> list[dict[str, Any]]:
        """Questions the bot found no answer for, newest first."""
        missed = [q for q in reversed(self.questions(f)) if not q.answered][:limit]
        return [
            {
                "at": q.at,
                "conversation": pseudonym(q.conversation_id),
                "channel": CHANNELS[channel_of(q.conversation_id)],
                "region": q.region,
                "tax_types": "、".join(q.tax_types),
                "question": q.text,
            }
            for q in missed
        ]

    def unhelpful(self, f: Filters, limit: int = 200) -> list[dict[str, Any]]:
        """Answers marked 没用: the question, the sources the answer came from, the region; newest first."""
        rows = []
        for r in self._feedback(f, feedback.c.kind == "negative"):
            taxes = self.tax_types.of(r.question, tuple(r.sources or ()))
            if f.tax_type and f.tax_type not in taxes:
                continue
            rows.append(
                {
                    "at": _utc(r.at),
                    "conversation": pseudonym(r.conversation_id),
                    "channel": CHANNELS[channel_of(r.conversation_id)],
                    "region": r.region,
                    "tax_types": "、".join(taxes),
                    "question": mask(r.question),
                    "sources": " ".join(r.sources or ()),
                }
            )
        return rows[:limit]

    def low_ratings(self, f: Filters, limit: int = 200) -> list[dict[str, Any]]:
        """Ratings of 1 or 2 with the conversation's last question before them; newest first."""
        asked: dict[str, list[Question]] = defaultdict(list)
        for q in self.questions(Filters(f.start, f.end, None, f.channel, None)):
            asked[q.conversation_id].append(q)
        rows = []
        low = (feedback.c.kind == "rating", feedback.c.rating.is_not(None), feedback.c.rating <= LOW_RATING)
        for r in self._feedback(f, *low):
            before = [q for q in asked[r.conversation_id] if q.at <= _utc(r.at)]
            last = before[-1] if before else None
            if f.tax_type and (last is None or f.tax_type not in last.tax_types):
                continue
            rows.append(
                {
                    "at": _utc(r.at),
                    "conversation": pseudonym(r.conversation_id),
                    "channel": CHANNELS[channel_of(r.conversation_id)],
                    "region": r.region,
                    "rating": r.rating,
                    "question": last.text if last else "",
                    "tax_types": "、".join(last.tax_types) if last else "",
                }
            )
        return rows[:limit]

    def hot(self, f: Filters, group_by: str = "all", top: int = 10) -> list[dict[str, Any]]:
        """The most asked questions (near-duplicates grouped by the FAQ / article that answered them, else
        by the normalised text), ``top`` per group; a question with two tax types counts in both."""
        groups: dict[str, Counter[str]] = defaultdict(Counter)
        wording: dict[str, Counter[str]] = defaultdict(Counter)
        for q in self.questions(f):
            key = group_key(q.text, q.sources)
            wording[key][q.text] += 1
            labels = {
                "all": ("全部",),
                "week": (week_of(q.at),),
                "region": (q.region,),
                "tax_type": q.tax_types,
            }
            for label in labels[group_by]:
                groups[label][key] += 1
        rows = []
        for label in sorted(groups):
            for rank, (key, count) in enumerate(groups[label].most_common(top), start=1):
                source = key.partition(":")[2] if key.startswith("source:") else ""
                rows.append(
                    {
                        "group": label,
                        "rank": rank,
                        "question": wording[key].most_common(1)[0][0],
                        "count": count,
                        "source": source,
                    }
                )
        return rows
