"""`/staff/analytics` (数据分析): charts drawn by Chart.js (vendored, served from here), a table under each
chart and its CSV download. Agents see the unanswered questions; reviewers and admins see everything.

Chart.js 4.6.1 (MIT) is vendored as ``static/vendor/chart.umd.min.js`` with its licence beside it: the
console must work without reaching a CDN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from knowledge_base.models import NATIONAL
from taxbot.routes.kb import ServicesDep
from taxbot.staff.accounts import Role
from taxbot.staff.analytics import GROUP_BY, Analytics
from taxbot.staff.analytics_filters import TAX_CHOICES, Filters, parse_filters
from taxbot.staff.analytics_tax import CHANNELS
from taxbot.staff.api_analytics import COLUMNS, get_analytics
from taxbot.staff.auth import PageUser
from taxbot.staff.errors import Invalid, WorkflowError
from taxbot.staff.render import STATIC, page

router = APIRouter(prefix="/staff", tags=["staff pages"], include_in_schema=False)
VENDOR = {
    "chart.umd.min.js": "application/javascript; charset=utf-8",
    "chart.js.LICENSE.md": "text/markdown; charset=utf-8",
}
Field = Annotated[str, Query(max_length=40)]


@router.get("/static/vendor/{name}")
async def vendor_asset(name: str) -> Response:
    """Third-party files shipped with the console (public, like the console's own CSS and JS)."""
    if name not in VENDOR:
        raise HTTPException(status_code=404, detail="no such file")
    body = (STATIC / "vendor" / name).read_bytes()
    return Response(body, media_type=VENDOR[name], headers={"Cache-Control": "public, max-age=86400"})


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if key.endswith("_rate"):
        return f"{value * 100:.1f}%"
    return str(value)


def _table(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = COLUMNS[name]
    return {
        "name": name, "headers": [h for _, h in columns],
        "rows": [[_cell(k, row[k]) for k, _ in columns] for row in rows],
    }  # fmt: skip


def _figures(a: Analytics, f: Filters, group_by: str, full: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tables for the page, data for the charts)."""
    tables = {"unanswered": _table("unanswered", a.unanswered(f, 200))}
    if not full:
        return tables, {}
    overview, top = a.overview(f), a.hot(f, "all", 10)
    tables |= {
        "overview": _table("overview", overview), "hot": _table("hot", a.hot(f, group_by, 10)),
        "unhelpful": _table("unhelpful", a.unhelpful(f, 200)),
        "low-ratings": _table("low-ratings", a.low_ratings(f, 200)),
    }  # fmt: skip
    pct = [None if r["answer_rate"] is None else round(r["answer_rate"] * 100, 1) for r in overview]
    charts = {
        "weeks": [r["week"] for r in overview],
        "answer_rate": pct,
        "handoff_rate": [
            None if r["handoff_rate"] is None else round(r["handoff_rate"] * 100, 1) for r in overview
        ],
        "questions": [r["questions"] for r in overview],
        "mean_rating": [r["mean_rating"] for r in overview],
        "ratings": [r["ratings"] for r in overview],
        "hot_labels": [r["question"][:30] for r in top],
        "hot_counts": [r["count"] for r in top],
    }
    return tables, charts


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request, principal: PageUser, services: ServicesDep, start: Field = "", end: Field = "",
    region: Field = "", channel: Field = "", tax_type: Field = "", group_by: Field = "all",
) -> HTMLResponse:  # fmt: skip
    """The filter form, then one section per figure: chart, table, CSV link."""
    form = {"start": start, "end": end, "region": region, "channel": channel, "tax_type": tax_type,
            "group_by": group_by}  # fmt: skip
    full = principal.user.role.allows(Role.REVIEWER)
    context: dict[str, Any] = {
        "form": form, "full": full, "channels": CHANNELS, "tax_choices": TAX_CHOICES,
        "group_choices": GROUP_BY, "national": NATIONAL, "tables": {}, "charts": {}, "error": "", "query": "",
    }  # fmt: skip
    try:
        f = parse_filters(start, end, region, channel, tax_type)
        if group_by not in GROUP_BY:
            raise Invalid(f"未知的分组方式“{group_by}”。")
    except WorkflowError as exc:
        return page(request, "analytics.html", principal, exc.status_code, **(context | {"error": str(exc)}))
    analytics = await run_in_threadpool(get_analytics, request, services)
    tables, charts = await run_in_threadpool(_figures, analytics, f, group_by, full)
    query = {"start": f.start.isoformat(), "end": f.end.isoformat(), "region": f.region or "",
             "channel": f.channel or "", "tax_type": f.tax_type or ""}  # fmt: skip
    form |= {"start": query["start"], "end": query["end"]}
    found = {"tables": tables, "charts": charts, "query": urlencode(query), "group_by": group_by}
    return page(request, "analytics.html", principal, **(context | found))
