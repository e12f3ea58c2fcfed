"""The staff console: `/staff/...` pages and the `/api/staff/...` JSON API (see ``taxbot.staff``)."""

from __future__ import annotations

from fastapi import APIRouter

from taxbot.staff import api, pages, pages_kb

router = APIRouter()
router.include_router(api.router)
router.include_router(pages.router)
router.include_router(pages_kb.router)
