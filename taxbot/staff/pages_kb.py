"""`/staff/faqs` and `/staff/uploads`: draft, review, publish FAQ entries; upload and publish regulations."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from knowledge_base.models import FaqEntry, FaqStatus
from taxbot.staff.accounts import Role
from taxbot.staff.auth import PageReviewer, PageUser, Principal
from taxbot.staff.config import FORM_BODY_LIMIT, UPLOAD_BODY_LIMIT
from taxbot.staff.deps import FaqsDep, UploadsDep, call
from taxbot.staff.errors import WorkflowError
from taxbot.staff.faqs import faq_public
from taxbot.staff.render import page
from taxbot.staff.schemas import DocumentReview, FaqCreate

router = APIRouter(
    prefix="/staff", tags=["staff pages"], include_in_schema=False, max_body_size=FORM_BODY_LIMIT
)
Text = Annotated[str, Form(max_length=5000)]
_SPLIT = re.compile(r"[,，、;；\s]+")


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or '表单'}: {e['msg']}" for e in exc.errors()]


def _faq_from_form(form: dict[str, str]) -> FaqCreate:
    citations = []
    for line in form["citations"].splitlines():
        doc_id, _, article = line.strip().partition("#")
        if doc_id.strip():
            citations.append({"doc_id": doc_id.strip(), "article": article.strip()})
    return FaqCreate.model_validate(
        {
            "question": form["question"], "answer": form["answer"], "citations": citations,
            "similar_questions": form["similar_questions"].splitlines(), "region": form["region"],
            "tax_types": [t for t in _SPLIT.split(form["tax_types"]) if t],
            "valid_from": form["valid_from"] or None, "valid_to": form["valid_to"] or None,
        }
    )  # fmt: skip


def _form_of(entry: FaqEntry | None) -> dict[str, str]:
    if entry is None:
        return dict.fromkeys(
            ("question", "similar_questions", "answer", "citations", "tax_types", "valid_from", "valid_to"),
            "",
        ) | {"region": "全国"}
    public = faq_public(entry)
    return {
        "question": public["question"], "answer": public["answer"], "region": entry.region,
        "similar_questions": "\n".join(public["similar_questions"]),
        "citations": "\n".join(f"{c.doc_id}#{c.article}" for c in entry.citations),
        "tax_types": "、".join(entry.tax_types), "valid_from": str(entry.valid_from or ""),
        "valid_to": str(entry.valid_to or ""),
    }  # fmt: skip


@router.get("/faqs", response_class=HTMLResponse)
async def faq_list(request: Request, principal: PageUser, faqs: FaqsDep) -> HTMLResponse:
    entries = await call(faqs.list, None)
    groups = {s: [faq_public(e) for e in entries if e.status == s] for s in FaqStatus}
    return page(request, "faqs.html", principal, groups=groups)


@router.get("/faqs/new", response_class=HTMLResponse)
async def faq_new(request: Request, principal: PageUser, cite: str = "") -> HTMLResponse:
    form = _form_of(None) | {"citations": cite}
    return page(request, "faq_form.html", principal, form=form, action="/staff/faqs/new", errors=[])


async def _save(
    request: Request, principal: Principal, faqs: FaqsDep, faq_id: str | None, **form: str
) -> Response:
    action = f"/staff/faqs/{quote(faq_id, safe='')}/edit" if faq_id else "/staff/faqs/new"
    try:
        data = _faq_from_form(form)
        actor = principal.user.username
        if faq_id:
            entry = await run_in_threadpool(faqs.update_draft, faq_id, data, actor)
        else:
            entry = await run_in_threadpool(faqs.create_draft, data, actor)
    except ValidationError as exc:
        return page(request, "faq_form.html", principal, 422, form=form, action=action, errors=_errors(exc))
    except WorkflowError as exc:
        status = exc.status_code
        return page(request, "faq_form.html", principal, status, form=form, action=action, errors=[str(exc)])
    return _see(f"/staff/faqs/{quote(entry.id, safe='')}")


@router.post("/faqs/new")
async def faq_create(
    request: Request, principal: PageUser, faqs: FaqsDep, question: Text, answer: Text,
    similar_questions: Text = "", citations: Text = "", region: Text = "全国", tax_types: Text = "",
    valid_from: Text = "", valid_to: Text = "",
) -> Response:  # fmt: skip
    fields = {
        "question": question, "answer": answer, "similar_questions": similar_questions,
        "citations": citations, "region": region, "tax_types": tax_types, "valid_from": valid_from,
        "valid_to": valid_to,
    }  # fmt: skip
    return await _save(request, principal, faqs, None, **fields)


@router.get("/faqs/{faq_id}", response_class=HTMLResponse)
async def faq_detail(request: Request, faq_id: str, principal: PageUser, faqs: FaqsDep) -> HTMLResponse:
    entry = await call(faqs.get, faq_id)
    review = await call(faqs.latest_review, entry)
    versions = [faq_public(v) for v in await call(faqs.versions, faq_id)]
    return page(
        request, "faq_detail.html", principal, faq=faq_public(entry, review), versions=versions[::-1],
        can_review=principal.user.role.allows(Role.REVIEWER),
    )  # fmt: skip


@router.get("/faqs/{faq_id}/edit", response_class=HTMLResponse)
async def faq_edit(request: Request, faq_id: str, principal: PageUser, faqs: FaqsDep) -> HTMLResponse:
    entry = await call(faqs.get, faq_id)
    action = f"/staff/faqs/{quote(faq_id, safe='')}/edit"
    return page(request, "faq_form.html", principal, form=_form_of(entry), action=action, errors=[])


@router.post("/faqs/{faq_id}/edit")
async def faq_update(
    request: Request, faq_id: str, principal: PageUser, faqs: FaqsDep, question: Text, answer: Text,
    similar_questions: Text = "", citations: Text = "", region: Text = "全国", tax_types: Text = "",
    valid_from: Text = "", valid_to: Text = "",
) -> Response:  # fmt: skip
    fields = {
        "question": question, "answer": answer, "similar_questions": similar_questions,
        "citations": citations, "region": region, "tax_types": tax_types, "valid_from": valid_from,
        "valid_to": valid_to,
    }  # fmt: skip
    return await _save(request, principal, faqs, faq_id, **fields)


@router.post("/faqs/{faq_id}/approve")
async def faq_approve(faq_id: str, principal: PageReviewer, faqs: FaqsDep, comment: Text = "") -> Response:
    await call(faqs.approve, faq_id, principal.user.username, comment)
    return _see(f"/staff/faqs/{quote(faq_id, safe='')}")


@router.post("/faqs/{faq_id}/reject")
async def faq_reject(faq_id: str, principal: PageReviewer, faqs: FaqsDep, comment: Text = "") -> Response:
    await call(faqs.reject, faq_id, principal.user.username, comment or "（未填写理由）")
    return _see(f"/staff/faqs/{quote(faq_id, safe='')}")


@router.post("/faqs/{faq_id}/rollback")
async def faq_rollback(
    faq_id: str, principal: PageReviewer, faqs: FaqsDep, version: Annotated[int, Form(ge=1)]
) -> Response:
    await call(faqs.rollback, faq_id, version, principal.user.username)
    return _see(f"/staff/faqs/{quote(faq_id, safe='')}")


@router.post("/faqs/{faq_id}/withdraw")
async def faq_withdraw(faq_id: str, principal: PageReviewer, faqs: FaqsDep) -> Response:
    await call(faqs.withdraw, faq_id, principal.user.username)
    return _see(f"/staff/faqs/{quote(faq_id, safe='')}")


@router.post("/documents/{doc_id}/withdraw")
async def document_withdraw(doc_id: str, principal: PageReviewer, faqs: FaqsDep, back: Text = "") -> Response:
    await call(faqs.withdraw_document, doc_id, principal.user.username)
    return _see(back if back.startswith("/staff/") else "/staff/search")


@router.get("/uploads", response_class=HTMLResponse)
async def uploads_page(request: Request, principal: PageUser, uploads: UploadsDep) -> HTMLResponse:
    pending = await call(uploads.pending)
    return page(request, "uploads.html", principal, pending=pending, error="", max_bytes=uploads.max_bytes)


@router.post("/uploads", response_class=HTMLResponse, max_body_size=UPLOAD_BODY_LIMIT)
async def upload_file(
    request: Request, principal: PageUser, uploads: UploadsDep, file: UploadFile, region: Text = ""
) -> Response:
    data = await file.read(uploads.max_bytes + 1)
    try:
        upload: dict[str, Any] = await run_in_threadpool(
            uploads.receive, file.filename or "", data, region=region or None, actor=principal.user.username
        )
    except WorkflowError as exc:
        pending = await call(uploads.pending)
        return page(
            request, "uploads.html", principal, exc.status_code, pending=pending, error=str(exc),
            max_bytes=uploads.max_bytes,
        )  # fmt: skip
    return _see(f"/staff/uploads/{upload['id']}")


@router.get("/uploads/{upload_id}", response_class=HTMLResponse)
async def upload_review(
    request: Request, upload_id: str, principal: PageUser, uploads: UploadsDep
) -> HTMLResponse:
    upload = await call(uploads.get, upload_id)
    return page(request, "upload_review.html", principal, upload=upload, doc=upload["document"], errors=[])


@router.post("/uploads/{upload_id}/publish", response_class=HTMLResponse)
async def upload_publish(
    request: Request, upload_id: str, principal: PageReviewer, uploads: UploadsDep, id: Text, title: Text,
    doc_number: Text = "", issuer: Text = "", doc_type: Text = "", region: Text = "", published: Text = "",
    effective: Text = "", expires: Text = "", status: Text = "", tax_types: Text = "",
) -> Response:  # fmt: skip
    upload = await call(uploads.get, upload_id)
    raw = {
        "id": id, "title": title, "doc_number": doc_number, "issuer": issuer, "doc_type": doc_type,
        "region": region, "published": published or None, "effective": effective or None,
        "expires": expires or None, "status": status, "tax_types": [t for t in _SPLIT.split(tax_types) if t],
    }  # fmt: skip
    try:
        review = DocumentReview.model_validate(raw)
        doc = await run_in_threadpool(uploads.publish, upload_id, review, principal.user.username)
    except ValidationError as exc:
        return page(
            request, "upload_review.html", principal, 422, upload=upload, doc=raw, errors=_errors(exc)
        )
    except WorkflowError as exc:
        status_code = exc.status_code
        return page(
            request, "upload_review.html", principal, status_code, upload=upload, doc=raw, errors=[str(exc)]
        )
    return _see(f"/staff/search?q={quote(doc.title)}")


@router.post("/uploads/{upload_id}/discard")
async def upload_discard(upload_id: str, principal: PageReviewer, uploads: UploadsDep) -> Response:
    await call(uploads.discard, upload_id, principal.user.username)
    return _see("/staff/uploads")
