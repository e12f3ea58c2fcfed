"""Server-rendered pages of the console: Jinja2 with autoescaping; free text shown through ``mask``."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from channels.masking import mask
from knowledge_base.models import NATIONAL, DocStatus, DocType
from knowledge_base.regions import ALL_REGIONS
from taxbot.staff.auth import Principal

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def _mask(value: object) -> str:
    return mask("" if value is None else str(value))


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip
    env.filters["mask"] = _mask
    env.globals.update(
        regions=[NATIONAL, *ALL_REGIONS], doc_types=[str(t) for t in DocType],
        doc_statuses=[str(s) for s in DocStatus],
    )  # fmt: skip
    return env


def page(
    request: Request, template: str, principal: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    body = environment().get_template(template).render(
        request=request, user=principal.user if principal else None,
        csrf=principal.csrf_token if principal else "", **context,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status_code, headers=NO_STORE)
