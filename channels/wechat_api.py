"""The two WeChat server APIs the Official Account channel calls: access_token and 客服消息 (send).

* ``GET  {base}/cgi-bin/token?grant_type=client_credential&appid=..&secret=..``
  → ``{"access_token": "..", "expires_in": 7200}`` or ``{"errcode": 40013, "errmsg": ".."}``
* ``POST {base}/cgi-bin/message/custom/send?access_token=..`` with
  ``{"touser": openid, "msgtype": "text", "text": {"content": ..}}`` → ``{"errcode": 0, "errmsg": "ok"}``

The token is cached until shortly before it expires; errcode 40001 (invalid credential), 40014
(invalid access_token) or 42001 (expired) drop it, fetch a new one and retry the call once — as
wechatpy's client does. JSON goes out as UTF-8 without ``\\u`` escapes, which WeChat would show verbatim.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from taxbot.errors import TaxbotError

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
TEXT_LIMIT_BYTES = 2048  # 客服消息 text content


class WeChatAPIError(TaxbotError):
    """WeChat answered with a non-zero errcode (or not at all)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatAPI:
    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str = "https://api.weixin.qq.com",
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def access_token(self, *, refresh: bool = False) -> str:
        """The cached token, or a new one when missing, expiring within 5 minutes, or ``refresh``."""
        async with self._lock:
            if refresh or self._token is None or time.monotonic() >= self._expires_at:
                params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
                data = await self._call("GET", "/cgi-bin/token", params=params)
                token = data.get("access_token")
                if not isinstance(token, str) or not token:
                    raise WeChatAPIError(-1, f"no access_token in the answer: {sorted(data)}")
                expires_in = int(data.get("expires_in") or 7200)
                self._token = token
                self._expires_at = time.monotonic() + max(expires_in - 300, expires_in // 2)
            return self._token

    def forget_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def send_text(self, openid: str, content: str) -> None:
        """One 客服消息 text; ``content`` must fit ``TEXT_LIMIT_BYTES`` (split before calling)."""
        if len(content.encode()) > TEXT_LIMIT_BYTES:
            raise ValueError(
                f"customer-service text is {len(content.encode())} bytes, limit {TEXT_LIMIT_BYTES}"
            )
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self._with_token("POST", "/cgi-bin/message/custom/send", body)

    async def _with_token(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await self._call(method, path, params={"access_token": token}, body=body)
        except WeChatAPIError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            self.forget_token(token)
            token = await self.access_token(refresh=True)
            return await self._call(method, path, params={"access_token": token}, body=body)

    async def _call(
        self, method: str, path: str, *, params: dict[str, str], body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if content is not None else {}
        try:
            response = await self._client.request(
                method, f"{self.base_url}{path}", params=params, content=content, headers=headers
            )
        except httpx.HTTPError as exc:
            raise WeChatAPIError(-1, f"{path} unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise WeChatAPIError(-1, f"{path} answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise WeChatAPIError(-1, f"{path} returned invalid JSON") from exc
        if not isinstance(data, dict):
            raise WeChatAPIError(-1, f"{path} returned {type(data).__name__}, not an object")
        errcode = int(data.get("errcode") or 0)
        if errcode != 0:
            raise WeChatAPIError(errcode, str(data.get("errmsg", "")))
        return data
