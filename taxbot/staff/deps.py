"""Workflow dependencies shared by the staff API and pages; workflow errors become HTTP errors here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException
from starlette.concurrency import run_in_threadpool

from knowledge_base.store import KnowledgeStore
from taxbot.routes.kb import ServicesDep
from taxbot.staff.auth import StaffSettingsDep, StaffStoreDep
from taxbot.staff.errors import WorkflowError
from taxbot.staff.faqs import FaqWorkflow
from taxbot.staff.uploads import Uploads

T = TypeVar("T")


def get_kb_store(services: ServicesDep) -> KnowledgeStore:
    if not isinstance(services.store, KnowledgeStore):
        raise HTTPException(status_code=503, detail="the knowledge store is not available")
    return services.store


KbStoreDep = Annotated[KnowledgeStore, Depends(get_kb_store)]


def get_faqs(store: KbStoreDep, staff: StaffStoreDep) -> FaqWorkflow:
    return FaqWorkflow(store, staff)


def get_uploads(store: KbStoreDep, staff: StaffStoreDep, settings: StaffSettingsDep) -> Uploads:
    return Uploads(store, staff, max_bytes=settings.max_upload_bytes)


FaqsDep = Annotated[FaqWorkflow, Depends(get_faqs)]
UploadsDep = Annotated[Uploads, Depends(get_uploads)]


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` in the thread pool; a WorkflowError becomes an HTTPException with its status."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except WorkflowError as exc:
        raise HTTPException(status_code=exc.status_code, detail=str(exc)) from None
