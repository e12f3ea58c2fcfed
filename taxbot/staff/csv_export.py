"""CSV downloads of the console: UTF-8 with a BOM (so Excel opens Chinese text correctly), every cell
masked once more on the way out, and the audit log's export (admins)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from channels.masking import mask
from taxbot.staff.accounts import StaffStore
from taxbot.staff.auth import ApiAdmin, PageAdmin, StaffStoreDep

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
AUDIT_COLUMNS = ("时间（UTC）", "操作人", "操作", "对象类型", "对象", "变更前", "变更后", "详情")

router = APIRouter(tags=["staff exports"])


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = mask(str(value))
    # a leading = + - @ makes Excel evaluate the cell as a formula (CSV injection): quote it as text
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """``rows`` as a CSV download named ``filename`` (ASCII fallback name plus the RFC 5987 UTF-8 one)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    fallback = filename.encode("ascii", "ignore").decode() or "export.csv"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        (BOM + buffer.getvalue()).encode("utf-8"), media_type=MEDIA_TYPE,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )  # fmt: skip


async def _audit_csv(store: StaffStore, limit: int) -> Response:
    rows = await run_in_threadpool(store.audit_log, limit=limit)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return csv_response(
        f"audit-{stamp}.csv", AUDIT_COLUMNS,
        ([r["at"], r["actor"], r["action"], r["kind"], r["key"], r["before"], r["after"],
          " ".join(f"{k}={v}" for k, v in r["detail"].items())] for r in rows),
    )  # fmt: skip


Limit = Annotated[int, Query(ge=1, le=100_000, description="Newest entries to export")]


@router.get("/api/staff/audit.csv", response_class=Response)
async def audit_csv_api(principal: ApiAdmin, store: StaffStoreDep, limit: Limit = 10_000) -> Response:
    """The audit log as CSV, newest first (admins)."""
    return await _audit_csv(store, limit)


@router.get("/staff/audit.csv", response_class=Response, include_in_schema=False)
async def audit_csv_page(principal: PageAdmin, store: StaffStoreDep, limit: Limit = 10_000) -> Response:
    """The same download from the audit page (session cookie; anonymous browsers go to the login form)."""
    return await _audit_csv(store, limit)
