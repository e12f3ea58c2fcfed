"""`/api/staff/analytics/...`: the 数据分析 figures as JSON and as CSV downloads (``.csv``, UTF-8 with BOM).

Roles: every staff member sees the questions the bot could not answer (agents turn them into FAQ drafts);
the other figures (overview, 没用 answers, low ratings, hot questions) are for reviewers and admins, who
decide what the knowledge base needs. Filters: ``start``/``end`` (YYYY-MM-DD, inclusive; default the last 8
weeks), ``region``, ``channel`` (web / wechat / sms) and ``tax_type``; bad values get a 422 saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from taxbot.routes.kb import ServicesDep
from taxbot.staff.analytics import GROUP_BY, Analytics
from taxbot.staff.analytics_filters import Filters, parse_filters
from taxbot.staff.analytics_tax import TaxTypes
from taxbot.staff.auth import ApiReviewer, ApiUser
from taxbot.staff.csv_export import csv_response
from taxbot.staff.errors import WorkflowError

router = APIRouter(prefix="/api/staff/analytics", tags=["staff analytics"])

_WHEN, _WHERE = ("at", "时间（UTC）"), (("conversation", "会话"), ("channel", "渠道"), ("region", "地区"))
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "overview": (
        ("week", "周（周一）"), ("questions", "提问数"), ("answered", "已回答"), ("answer_rate", "回答率"),
        ("conversations", "会话数"), ("handoffs", "转人工"), ("handoff_rate", "转人工率"),
        ("ratings", "评价数"), ("mean_rating", "平均满意度"),
    ),
    "unanswered": (_WHEN, *_WHERE, ("tax_types", "税种"), ("question", "问题")),
    "unhelpful": (_WHEN, *_WHERE, ("tax_types", "税种"), ("question", "问题"), ("sources", "答案来源")),
    "low-ratings": (_WHEN, *_WHERE, ("rating", "评分"), ("tax_types", "税种"), ("question", "最后的问题")),
    "hot": (
        ("group", "分组"), ("rank", "名次"), ("question", "问题"), ("count", "次数"), ("source", "答案来源"),
    ),
}  # fmt: skip
Limit = Annotated[int, Query(ge=1, le=10_000, description="Most rows to return, newest first")]


def get_analytics(request: Request, services: ServicesDep) -> Analytics:
    """Over the app's conversation store; tax types read from the knowledge store (sync: in the pool)."""
    conversations = getattr(request.app.state, "conversations", None)
    if conversations is None:
        raise HTTPException(status_code=503, detail="对话记录库不可用，暂时无法统计。")
    return Analytics(conversations.engine, TaxTypes.from_engine(getattr(services.store, "engine", None)))


def get_filters(
    start: Annotated[str, Query(max_length=40, description="First day, YYYY-MM-DD")] = "",
    end: Annotated[str, Query(max_length=40, description="Last day, YYYY-MM-DD")] = "",
    region: Annotated[str, Query(max_length=40)] = "",
    channel: Annotated[str, Query(max_length=40, description="web, wechat or sms")] = "",
    tax_type: Annotated[str, Query(max_length=40)] = "",
) -> Filters:
    try:
        return parse_filters(start, end, region, channel, tax_type)
    except WorkflowError as exc:
        raise HTTPException(status_code=exc.status_code, detail=str(exc)) from None


def check_group_by(group_by: Annotated[str, Query(max_length=20)] = "all") -> str:
    if group_by not in GROUP_BY:
        raise HTTPException(
            status_code=422, detail=f"未知的分组方式“{group_by}”：可选 {'、'.join(GROUP_BY)}。"
        )
    return group_by


AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]
FiltersDep = Annotated[Filters, Depends(get_filters)]
GroupBy = Annotated[str, Depends(check_group_by)]
Top = Annotated[int, Query(ge=1, le=100)]


def filters_json(f: Filters) -> dict[str, Any]:
    return {"start": f.start.isoformat(), "end": f.end.isoformat(), "region": f.region or "",
            "channel": f.channel or "", "tax_type": f.tax_type or ""}  # fmt: skip


def _json(table: str, f: Filters, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"table": table, "filters": filters_json(f), "columns": dict(COLUMNS[table]), "rows": rows}


def _csv(table: str, f: Filters, rows: list[dict[str, Any]]) -> Response:
    columns = COLUMNS[table]
    name = f"{table}-{f.start:%Y%m%d}-{f.end:%Y%m%d}.csv"
    return csv_response(name, [h for _, h in columns], ([row[k] for k, _ in columns] for row in rows))


async def _rows(fn: Callable[..., list[dict[str, Any]]], *args: Any) -> list[dict[str, Any]]:
    return await run_in_threadpool(fn, *args)


@router.get("/overview")
async def overview(principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep) -> dict[str, Any]:
    """Per week: questions, answer rate, conversations, handoff rate, ratings and mean satisfaction."""
    return _json("overview", f, await _rows(a.overview, f))


@router.get("/overview.csv", response_class=Response)
async def overview_csv(principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep) -> Response:
    return _csv("overview", f, await _rows(a.overview, f))


@router.get("/unanswered")
async def unanswered(
    principal: ApiUser, a: AnalyticsDep, f: FiltersDep, limit: Limit = 200
) -> dict[str, Any]:
    """Questions the bot found no answer for (masked), newest first — every role."""
    return _json("unanswered", f, await _rows(a.unanswered, f, limit))


@router.get("/unanswered.csv", response_class=Response)
async def unanswered_csv(
    principal: ApiUser, a: AnalyticsDep, f: FiltersDep, limit: Limit = 10_000
) -> Response:
    return _csv("unanswered", f, await _rows(a.unanswered, f, limit))


@router.get("/unhelpful")
async def unhelpful(
    principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep, limit: Limit = 200
) -> dict[str, Any]:
    """Answers marked 没用: question, the answer's sources, region."""
    return _json("unhelpful", f, await _rows(a.unhelpful, f, limit))


@router.get("/unhelpful.csv", response_class=Response)
async def unhelpful_csv(
    principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep, limit: Limit = 10_000
) -> Response:
    return _csv("unhelpful", f, await _rows(a.unhelpful, f, limit))


@router.get("/low-ratings")
async def low_ratings(
    principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep, limit: Limit = 200
) -> dict[str, Any]:
    """Ratings of 1–2 with the conversation's last question."""
    return _json("low-ratings", f, await _rows(a.low_ratings, f, limit))


@router.get("/low-ratings.csv", response_class=Response)
async def low_ratings_csv(
    principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep, limit: Limit = 10_000
) -> Response:
    return _csv("low-ratings", f, await _rows(a.low_ratings, f, limit))


@router.get("/hot")
async def hot(
    principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep, group_by: GroupBy, top: Top = 10
) -> dict[str, Any]:
    """The most asked questions, ``top`` per group (``group_by``: all, week, region, tax_type)."""
    return _json("hot", f, await _rows(a.hot, f, group_by, top)) | {"group_by": group_by}


@router.get("/hot.csv", response_class=Response)
async def hot_csv(
    principal: ApiReviewer, a: AnalyticsDep, f: FiltersDep, group_by: GroupBy, top: Top = 10
) -> Response:
    return _csv("hot", f, await _rows(a.hot, f, group_by, top))
