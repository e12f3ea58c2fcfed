"""`/api/kb`: search the knowledge base and read documents and FAQ entries (the staff page and API users)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from index.hybrid import MAX_K
from index.jsonio import document_json, search_json
from knowledge_base.regions import normalize_region
from taxbot.routes.limits import RATE_LIMITED_RESPONSES, IpLimited
from taxbot.services import Services

router = APIRouter(
    prefix="/api/kb",
    tags=["knowledge base"],
    responses={
        503: {"description": "The knowledge base is not loaded; `detail` says why"},
        **RATE_LIMITED_RESPONSES,
    },
    dependencies=[IpLimited],  # public: limited per client address like the chat
)


def get_services(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if services is None:
        reason = getattr(request.app.state, "services_error", None) or "knowledge base not loaded"
        raise HTTPException(status_code=503, detail=reason)
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _unprocessable(reason: str) -> HTTPException:
    return HTTPException(status_code=422, detail=reason)


@router.get("/search")
async def search(
    services: ServicesDep,
    q: Annotated[str, Query(description="The question")] = "",
    region: Annotated[str | None, Query(description="Asker's region, e.g. 上海市")] = None,
    as_of: Annotated[str | None, Query(description="YYYY-MM-DD, default today")] = None,
    tax_type: Annotated[list[str] | None, Query(description="Only these tax types")] = None,
    k: Annotated[int, Query(description=f"Number of hits, 1..{MAX_K}")] = 5,
    history: Annotated[bool, Query(description="Also rules not in force, marked historical")] = False,
) -> dict[str, Any]:
    """Hits like `taxbot kb search --json`: FAQ answers first, then articles with their regulation."""
    if not q.strip():
        raise _unprocessable("q must not be empty")
    if not 1 <= k <= MAX_K:
        raise _unprocessable(f"k must be between 1 and {MAX_K}, got {k}")
    canonical = None
    if region:
        canonical = normalize_region(region)
        if canonical is None:
            raise _unprocessable(f"unknown region {region!r}")
    try:
        when = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        raise _unprocessable(f"bad as_of date {as_of!r}; expected YYYY-MM-DD") from None
    try:
        hits = await run_in_threadpool(
            services.retriever.search, q, region=canonical, as_of=when, tax_types=tax_type, k=k,
            include_history=history,
        )  # fmt: skip
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    return search_json(q, canonical, when, hits)


@router.get("/documents/{doc_id}", responses={404: {"description": "No such entry"}})
async def get_document(doc_id: str, services: ServicesDep) -> dict[str, Any]:
    """A document's metadata and articles."""
    doc = await run_in_threadpool(services.store.get_document, doc_id) if services.store else None
    if doc is None:
        raise HTTPException(status_code=404, detail=f"no document with id {doc_id!r}")
    return document_json(doc)


@router.get("/faq/{faq_id}", responses={404: {"description": "No such entry"}})
async def get_faq(faq_id: str, services: ServicesDep) -> dict[str, Any]:
    """One FAQ entry (current version)."""
    entry = await run_in_threadpool(services.store.get_faq, faq_id) if services.store else None
    if entry is None:
        raise HTTPException(status_code=404, detail=f"no FAQ entry with id {faq_id!r}")
    return {
        "id": entry.id, "question": entry.question, "answer": entry.answer,
        "similar_questions": list(entry.similar_questions),
        "citations": [{"doc_id": c.doc_id, "article": c.article} for c in entry.citations],
        "region": entry.region, "tax_types": list(entry.tax_types),
        "valid_from": entry.valid_from.isoformat() if entry.valid_from else None,
        "valid_to": entry.valid_to.isoformat() if entry.valid_to else None,
        "status": str(entry.status), "version": entry.version,
    }  # fmt: skip
