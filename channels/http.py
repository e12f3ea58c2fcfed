"""Reading webhook bodies safely: a size limit (413) and XML without DTDs or entities (defusedxml)."""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from fastapi import HTTPException, Request


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"请求体过大：{declared} 字节，上限 {limit} 字节。")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"请求体过大：超过上限 {limit} 字节。")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_flat_xml(body: bytes | str) -> dict[str, str]:
    """``<xml><A>..</A><B>..</B></xml>`` as ``{"A": "..", "B": ".."}`` (nested elements: their text).

    Any DOCTYPE is refused, so neither external entities (XXE) nor entity expansion ("billion laughs")
    can happen; malformed XML is a 400.
    """
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise HTTPException(
            status_code=400, detail=f"不接受含 DTD 或实体声明的 XML：{type(exc).__name__}"
        ) from None
    except ParseError as exc:
        raise HTTPException(status_code=400, detail=f"XML 格式错误：{exc}") from None
    if root.tag != "xml":
        raise HTTPException(status_code=400, detail=f"XML 根元素应为 <xml>，收到 <{root.tag}>")
    return {child.tag: (child.text or "").strip() for child in root}
