"""The web channel: the taxpayer's chat page (`/`), the embeddable widget (`/widget.js`, `/widget.css`),
readable document pages for citations (`/documents/{doc_id}?article=第X条`) and `/api/regions`.

The widget talks to `POST /api/chat` like any API client; pages are rendered here from the templates in
``channels/static`` with every value HTML-escaped. Mount with ``app.include_router(channels.web.router)``.
"""

from __future__ import annotations

import html
import json
from datetime import date
from functools import cache
from pathlib import Path
from string import Template
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from channels.config import DEFAULT_HOT_QUESTIONS
from knowledge_base.models import NATIONAL, Article, DocStatus, Document
from knowledge_base.regions import ALL_REGIONS, CITIES, PLAN_CITIES

STATIC_DIR = Path(__file__).parent / "static"
SITE_TITLE = "12366 智能咨询"
ASSET_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
ASSETS = ("widget.js", "widget.css", "document.js")
# the widget and its assets are embedded by other (government) sites: readable from any origin
OPEN_TO_ALL = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(tags=["web"])


@cache
def _static(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _page(
    template: str, status_code: int = 200, headers: dict[str, str] | None = None, **values: str
) -> HTMLResponse:
    """``template`` from static/ filled with ``values`` (already escaped by the caller)."""
    body = Template(_static(template)).substitute(site_title=html.escape(SITE_TITLE), **values)
    return HTMLResponse(body, status_code=status_code, headers=headers)


def _asset(name: str) -> Response:
    media_type = ASSET_TYPES[Path(name).suffix]
    return Response(_static(name), media_type=media_type, headers=OPEN_TO_ALL)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def home() -> HTMLResponse:
    """The taxpayer's chat page: intro, hot questions, the widget inline."""
    chips = "\n".join(
        f'<li><button type="button" class="tx-chip" data-taxbot-ask="{_e(q)}">{_e(q)}</button></li>'
        for q in DEFAULT_HOT_QUESTIONS
    )
    return _page("index.html", hot_questions=chips)


@router.get("/widget.js", include_in_schema=False)
async def widget_js() -> Response:
    return _asset("widget.js")


@router.get("/widget.css", include_in_schema=False)
async def widget_css() -> Response:
    return _asset("widget.css")


@router.get("/document.js", include_in_schema=False)
async def document_js() -> Response:
    return _asset("document.js")


def region_groups() -> list[dict[str, Any]]:
    """Regions for the widget's selector: provincial-level regions, 计划单列市, then other large cities."""
    plan = [r for r in ALL_REGIONS if r in PLAN_CITIES]
    cities = [r for r in ALL_REGIONS if r in CITIES]
    provinces = [r for r in ALL_REGIONS if r not in PLAN_CITIES and r not in CITIES]
    return [
        {"label": "省、自治区、直辖市", "regions": provinces},
        {"label": "计划单列市", "regions": plan},
        {"label": "其他城市", "regions": cities},
    ]


@router.get("/api/regions", tags=["web"])
async def regions() -> Response:
    """Regions a taxpayer can choose (`/inform_region{"region": ...}`); 全国 means national rules only."""
    body = {"national": NATIONAL, "groups": region_groups()}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json", headers=OPEN_TO_ALL)


def find_article(doc: Document, wanted: str) -> Article | None:
    """The article a citation names: its exact label, else one it starts or is part of ("第一条第二款")."""
    wanted = wanted.strip()
    if not wanted:
        return None
    for article in doc.articles:
        if article.label == wanted:
            return article
    for article in doc.articles:
        if article.label.startswith(wanted) or wanted.startswith(article.label):
            return article
    return None


def _fmt_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def _meta_rows(doc: Document) -> str:
    region = "全国" if doc.region == NATIONAL else f"地方（{doc.region}）"
    rows = [
        ("文号", doc.doc_number), ("发布机关", doc.issuer), ("文件类型", str(doc.doc_type)),
        ("适用地区", region), ("发布日期", _fmt_date(doc.published)), ("施行日期", _fmt_date(doc.effective)),
        ("失效日期", _fmt_date(doc.expires)), ("状态", str(doc.status)),
    ]  # fmt: skip
    return "\n".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in rows if v)


def _status_banner(doc: Document) -> str:
    if doc.status == DocStatus.VALID and not doc.withdrawn:
        return ""
    parts = [f"本文件状态：{doc.status}"]
    if doc.withdrawn:
        parts = ["本文件已从知识库撤下"]
    if doc.status_note:
        parts.append(doc.status_note)
    notice = "。".join(_e(p) for p in parts)
    if doc.superseded_by:
        link = f"/documents/{quote(doc.superseded_by, safe='')}"
        notice += f'。<a href="{_e(link)}">查看替代文件</a>'
    return f'<p class="tx-doc-warning" role="note">{notice}</p>'


def _articles(doc: Document, current: Article | None) -> str:
    out: list[str] = []
    chapter = ""
    for article in doc.articles:
        if article.chapter and article.chapter != chapter:
            chapter = article.chapter
            out.append(f'<h2 class="tx-doc-chapter">{_e(chapter)}</h2>')
        is_current = current is not None and article.seq == current.seq
        attrs = ' class="tx-article"'
        if is_current:
            attrs = ' class="tx-article tx-article-current" aria-current="true" tabindex="-1"'
        paragraphs = "".join(f"<p>{_e(line)}</p>" for line in article.text.splitlines() if line.strip())
        out.append(
            f'<section id="article-{article.seq}"{attrs} aria-labelledby="article-{article.seq}-label">'
            f'<h3 id="article-{article.seq}-label">{_e(article.label)}</h3>{paragraphs}</section>'
        )
    return "\n".join(out) or '<p class="tx-doc-note">本文件暂无条文内容。</p>'


def _store(request: Request) -> Any:
    services = getattr(request.app.state, "services", None)
    return getattr(services, "store", None) if services is not None else None


def _message_page(status_code: int, heading: str, text: str) -> HTMLResponse:
    return _page("message.html", status_code, NO_STORE, heading=_e(heading), text=_e(text))


@router.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
async def document_page(
    doc_id: str,
    request: Request,
    article: Annotated[str, Query(max_length=64, description="Article to highlight, e.g. 第十八条")] = "",
) -> HTMLResponse:
    """A regulation for reading: metadata, status, every article; ``article`` highlighted and scrolled to."""
    store = _store(request)
    if store is None:
        return _message_page(503, "知识库暂时不可用", "政策文件暂时无法查看，请稍后再试或拨打12366热线。")
    doc: Document | None = await run_in_threadpool(store.get_document, doc_id)
    if doc is None:
        return _message_page(404, "未找到该政策文件", f"知识库中没有编号为“{doc_id}”的文件，它可能已被撤下。")
    current = find_article(doc, article)
    note = ""
    if article and current is None:
        note = f'<p class="tx-doc-note" role="status">未找到“{_e(article)}”，以下为文件全文。</p>'
    elif current is not None:
        link = f'<a href="#article-{current.seq}">跳转到引用的条款：{_e(current.label)}</a>'
        note = f'<p class="tx-doc-note">{link}</p>'
    return _page(
        "document.html",
        headers=NO_STORE,
        title=_e(doc.title),
        doc_number=_e(doc.doc_number),
        meta=_meta_rows(doc),
        banner=_status_banner(doc),
        note=note,
        articles=_articles(doc, current),
        source=f'<p class="tx-doc-source">来源：{_e(doc.source)}</p>' if doc.source else "",
    )
