"""The staff console: `/staff/...` pages and the `/api/staff/...` JSON API (see ``taxbot.staff``)."""

from __future__ import annotations

from fastapi import APIRouter

from taxbot.staff import (
    api,
    api_analytics,
    api_users,
    csv_export,
    handoffs_api,
    handoffs_pages,
    pages,
    pages_analytics,
    pages_kb,
    pages_users,
)
from taxbot.subscriptions import staff as subscriptions

# every staff route answers these (OpenAPI documents them; the pages are not in the schema)
STAFF_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "Not logged in: no, a wrong or an expired bearer token"},
    403: {"description": "The role does not allow this, or the CSRF token is missing or wrong"},
    404: {"description": "No such entry"},
    409: {"description": "The entry's state does not allow this (e.g. not a draft)"},
    413: {"description": "The request body is too large"},
}
router = APIRouter(responses=STAFF_RESPONSES)
router.include_router(api.router)
router.include_router(pages.router)
router.include_router(pages_kb.router)
router.include_router(handoffs_api.router)
router.include_router(handoffs_pages.router)
router.include_router(api_users.router)
router.include_router(api_analytics.router)
router.include_router(csv_export.router)
router.include_router(pages_analytics.router)
router.include_router(pages_users.router)
router.include_router(subscriptions.api)
router.include_router(subscriptions.pages)
