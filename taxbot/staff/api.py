"""`/api/staff`: the console's JSON API (bearer token from `POST /api/staff/tokens`, or the session cookie
plus CSRF header). Roles: agents search and draft; reviewers publish, reject, roll back, withdraw."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, UploadFile, status
from starlette.concurrency import run_in_threadpool

from channels.masking import mask
from knowledge_base.models import FaqStatus
from taxbot.routes.kb import ServicesDep
from taxbot.staff.auth import ApiAdmin, ApiReviewer, ApiUser, StaffSettingsDep, StaffStoreDep
from taxbot.staff.config import FORM_BODY_LIMIT, UPLOAD_BODY_LIMIT
from taxbot.staff.deps import FaqsDep, UploadsDep, call
from taxbot.staff.faqs import faq_public
from taxbot.staff.schemas import (
    DocumentReview,
    FaqCreate,
    FaqPublic,
    FaqUpdate,
    RejectReview,
    Review,
    Rollback,
    TokenCreate,
    TokenPublic,
    UserPublic,
)
from taxbot.staff.search import hit_view, parse_filters, run_search
from taxbot.staff.uploads import doc_to_json

router = APIRouter(prefix="/api/staff", tags=["staff"], max_body_size=FORM_BODY_LIMIT)


def _user(user: Any) -> UserPublic:
    return UserPublic(
        username=user.username, role=str(user.role), active=user.active, created_at=user.created_at
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, store: StaffStoreDep, settings: StaffSettingsDep) -> TokenPublic:
    """A bearer token for these credentials (shown once; stored hashed)."""
    user = await run_in_threadpool(store.authenticate, body.username, body.password)
    if user is None:
        raise HTTPException(status_code=401, detail="wrong user name or password, or the account is disabled")
    token, expires = await run_in_threadpool(store.create_token, user, timedelta(days=settings.token_days))
    return TokenPublic(token=token, expires_at=expires)


@router.get("/me")
async def me(principal: ApiUser) -> UserPublic:
    return _user(principal.user)


@router.get("/audit")
async def audit(
    principal: ApiAdmin, store: StaffStoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict[str, Any]]:
    """Who changed what, newest first (free text masked)."""
    rows = await run_in_threadpool(store.audit_log, limit=limit)
    return [{**r, "at": r["at"].isoformat(), "detail": mask(str(r["detail"]))} for r in rows]


@router.get("/search")
async def search(
    principal: ApiUser,
    services: ServicesDep,
    q: str = "",
    region: str = "",
    tax_type: str = "",
    doc_type: str = "",
    history: bool = False,
    as_of: str = "",
    k: int = 10,
) -> dict[str, Any]:
    """The bot's retriever with the console's filters; FAQ hits first."""
    filters = await call(parse_filters, q, region, tax_type, doc_type, history, as_of, k)
    hits = await call(run_search, services.retriever, filters)
    return {"query": mask(filters.q), "region": filters.region, "hits": [hit_view(h) for h in hits]}


@router.get("/faqs")
async def list_faqs(principal: ApiUser, faqs: FaqsDep, status: FaqStatus | None = None) -> list[FaqPublic]:
    entries = await call(faqs.list, status)
    return [FaqPublic(**faq_public(e)) for e in entries]


@router.post("/faqs", status_code=status.HTTP_201_CREATED)
async def create_faq(body: FaqCreate, principal: ApiUser, faqs: FaqsDep) -> FaqPublic:
    """A new FAQ entry as a draft (every role may draft)."""
    entry = await call(faqs.create_draft, body, principal.user.username)
    return FaqPublic(**faq_public(entry))


@router.get("/faqs/{faq_id}")
async def get_faq(faq_id: str, principal: ApiUser, faqs: FaqsDep) -> FaqPublic:
    entry = await call(faqs.get, faq_id)
    return FaqPublic(**faq_public(entry, await call(faqs.latest_review, entry)))


@router.put("/faqs/{faq_id}")
async def update_faq(faq_id: str, body: FaqUpdate, principal: ApiUser, faqs: FaqsDep) -> FaqPublic:
    """A new version of a draft (409 if the entry is not a draft)."""
    return FaqPublic(**faq_public(await call(faqs.update_draft, faq_id, body, principal.user.username)))


@router.post("/faqs/{faq_id}/approve")
async def approve_faq(faq_id: str, body: Review, principal: ApiReviewer, faqs: FaqsDep) -> FaqPublic:
    """Publish the draft: searchable by the bot within seconds."""
    entry = await call(faqs.approve, faq_id, principal.user.username, body.comment)
    return FaqPublic(**faq_public(entry))


@router.post("/faqs/{faq_id}/reject")
async def reject_faq(faq_id: str, body: RejectReview, principal: ApiReviewer, faqs: FaqsDep) -> FaqPublic:
    entry = await call(faqs.reject, faq_id, principal.user.username, body.comment)
    return FaqPublic(**faq_public(entry, await call(faqs.latest_review, entry)))


@router.get("/faqs/{faq_id}/versions")
async def faq_versions(faq_id: str, principal: ApiUser, faqs: FaqsDep) -> list[FaqPublic]:
    return [FaqPublic(**faq_public(e)) for e in await call(faqs.versions, faq_id)]


@router.post("/faqs/{faq_id}/rollback")
async def rollback_faq(faq_id: str, body: Rollback, principal: ApiReviewer, faqs: FaqsDep) -> FaqPublic:
    """Make an earlier version current again (as a new version)."""
    return FaqPublic(**faq_public(await call(faqs.rollback, faq_id, body.version, principal.user.username)))


@router.post("/faqs/{faq_id}/withdraw")
async def withdraw_faq(faq_id: str, principal: ApiReviewer, faqs: FaqsDep) -> FaqPublic:
    return FaqPublic(**faq_public(await call(faqs.withdraw, faq_id, principal.user.username)))


@router.post("/documents/{doc_id}/withdraw", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_document(doc_id: str, principal: ApiReviewer, faqs: FaqsDep) -> None:
    """Take a regulation out of search at once (kept in the store for audit)."""
    await call(faqs.withdraw_document, doc_id, principal.user.username)


def _upload_json(upload: dict[str, Any]) -> dict[str, Any]:
    document = doc_to_json(upload["document"])
    document["articles"] = len(document["articles"])
    return {**upload, "at": upload["at"].isoformat(), "document": document}


@router.post("/uploads", status_code=status.HTTP_201_CREATED, max_body_size=UPLOAD_BODY_LIMIT)
async def upload_document(
    file: UploadFile, principal: ApiUser, uploads: UploadsDep, region: Annotated[str, Form()] = ""
) -> dict[str, Any]:
    """Parse a regulation file into a pending upload (nothing is searchable until a reviewer publishes)."""
    data = await file.read(uploads.max_bytes + 1)
    upload = await call(
        uploads.receive, file.filename or "", data, region=region or None, actor=principal.user.username
    )
    return _upload_json(upload)


@router.get("/uploads/{upload_id}")
async def get_upload(upload_id: str, principal: ApiUser, uploads: UploadsDep) -> dict[str, Any]:
    return _upload_json(await call(uploads.get, upload_id))


@router.post("/uploads/{upload_id}/publish")
async def publish_upload(
    upload_id: str, body: DocumentReview, principal: ApiReviewer, uploads: UploadsDep
) -> dict[str, Any]:
    """Publish the uploaded regulation with the reviewer's metadata; searchable within seconds."""
    doc = await call(uploads.publish, upload_id, body, principal.user.username)
    return {"id": doc.id, "title": doc.title, "articles": len(doc.articles)}


@router.post("/uploads/{upload_id}/discard", status_code=status.HTTP_204_NO_CONTENT)
async def discard_upload(upload_id: str, principal: ApiReviewer, uploads: UploadsDep) -> None:
    await call(uploads.discard, upload_id, principal.user.username)
