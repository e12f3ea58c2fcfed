"""The app's HTTP client to the Rasa server: the REST channel and the status API."""

from __future__ import annotations

from typing import Any

import httpx

from taxbot.errors import DialogueUnavailable


class RasaClient:
    """Thin wrapper over one shared ``httpx.AsyncClient``; every failure becomes ``DialogueUnavailable``."""

    def __init__(self, base_url: str, *, timeout: float, client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The bot's replies to ``message`` from ``sender`` (Rasa's REST channel JSON array).

        ``metadata`` (e.g. ``{"channel": "wechat"}``) reaches the tracker with the user message.
        """
        body: dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        data = await self._request("POST", "/webhooks/rest/webhook", json=body)
        if not isinstance(data, list):
            raise DialogueUnavailable(f"Rasa returned {type(data).__name__} instead of a list of messages")
        return data

    async def status(self) -> dict[str, Any]:
        """Rasa's ``GET /status`` (needs ``--enable-api``); raises when no model is loaded."""
        data = await self._request("GET", "/status")
        if not isinstance(data, dict) or not data.get("model_file"):
            raise DialogueUnavailable(f"Rasa at {self.base_url} is up but has no model loaded")
        return data

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise DialogueUnavailable(f"Rasa at {url} timed out") from exc
        except httpx.HTTPError as exc:
            raise DialogueUnavailable(f"Rasa at {url} is unreachable: {exc}") from exc
        if response.status_code >= 400:
            detail = response.text[:200]
            raise DialogueUnavailable(f"Rasa at {url} answered HTTP {response.status_code}: {detail}")
        try:
            return response.json()
        except ValueError as exc:
            raise DialogueUnavailable(f"Rasa at {url} returned invalid JSON") from exc
